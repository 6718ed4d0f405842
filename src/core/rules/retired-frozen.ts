import type { Asset } from '../graph/types.ts';
import { label } from './lib/io-describe.ts';
import type { Rule, Violation } from './types.ts';

const RULE = 'retired-frozen';

export const retiredFrozen: Rule = {
  id: RULE,
  title: 'No configuration change to a retired asset',
  description:
    'A retired asset is equipment taken out of service; its record is kept for history and audit. Its placement ' +
    'and configuration are frozen: a change would describe a device that is not running and could be deployed to ' +
    'hardware that has been re-used elsewhere. Nothing may be newly attached under a retired asset either (a ' +
    'sensor wired to a retired controller, a meter on a retired gateway\'s bus): no one polls it. Retiring an asset ' +
    'is allowed, and so is returning it to service (retired → planned or active), which is an explicit, audited ' +
    'decision — and since the asset is then no longer retired, its recommissioning configuration may change in ' +
    'the same change set. Renaming or correcting the serial of a retired asset is not a configuration change.',
  codes: ['RETIRED_ASSET_CHANGED', 'PARENT_RETIRED'],
  severity: 'error',
  check(ctx) {
    const out: Violation[] = [];
    for (const id of ctx.touched.assets) {
      const now = ctx.candidate.assets.get(id);
      const was = ctx.before.assets.get(id);
      if (!now) continue;
      if (was && was.status === 'retired' && now.status === 'retired') {
        const moved = now.parentId !== was.parentId || now.port !== was.port;
        const keys = changedKeys(was.config, now.config);
        if (moved || keys.length > 0) {
          const what = moved ? 'moved' : `changed (${keys.map((k) => `/${escape(k)}`).join(', ')})`;
          out.push({
            rule: RULE,
            code: 'RETIRED_ASSET_CHANGED',
            message:
              `${label(now)} is retired, but its ${moved ? 'placement' : 'configuration'} is ${what}. A retired asset's ` +
              'configuration is frozen: return it to service (status planned or active) to change it, or leave it as is.',
            assetIds: [id],
            ...(!moved && keys.length === 1 ? { path: `/${escape(keys[0])}` } : {}),
            severity: 'error',
          });
        }
      }
      const parent = ctx.index.asset(now.parentId);
      const attached = !was || was.parentId !== now.parentId || was.port !== now.port;
      if (parent && parent.status === 'retired' && attached) {
        out.push({
          rule: RULE,
          code: 'PARENT_RETIRED',
          message:
            `${label(now)} cannot be attached to ${now.port ? `${now.port} of ` : ''}${label(parent)}: ${parent.name} is ` +
            'retired (out of service). Attach it to an asset in service, or return the parent to service first.',
          assetIds: [id, parent.id],
          severity: 'error',
        });
      }
    }
    return out;
  },
};

/** Top-level keys of a configuration document whose values differ. */
function changedKeys(before: Asset['config'], after: Asset['config']): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => !sameValue(before[k], after[k]));
}

/** Structural equality of JSON values; object key order does not matter (a merge patch may reorder). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  return [...keys].every((k) => sameValue(ra[k], rb[k]));
}

/** JSON Pointer escaping of one reference token (RFC 6901). */
const escape = (token: string) => token.replace(/~/g, '~0').replace(/\//g, '~1');
