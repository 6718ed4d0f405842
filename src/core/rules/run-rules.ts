import { rules as builtinRules } from './registry.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

/**
 * Runs every rule on a change and returns all violations, errors first. A rule that throws is
 * a bug in the rule; it is reported as a blocking violation rather than letting the write through.
 */
export function runRules(ctx: RuleContext, rules: readonly Rule[] = builtinRules): Violation[] {
  const out: Violation[] = [];
  for (const rule of rules) {
    try {
      out.push(...rule.check(ctx));
    } catch (err) {
      out.push({
        rule: rule.id,
        code: 'RULE_FAILED',
        message: `Rule ${rule.id} could not evaluate this change: ${(err as Error).message}`,
        assetIds: [...ctx.touched.assets],
        severity: 'error',
      });
    }
  }
  return out.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
}

export const hasErrors = (violations: Violation[]) => violations.some((v) => v.severity === 'error');
