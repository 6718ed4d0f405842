/**
 * Calls into the configuration service, with its answers mapped onto this API: a refusal of
 * the configuration rules becomes violations of the lifecycle write, an unreachable or
 * failing configuration service a 503 — never a 500.
 */
import type { Violation } from '../../core/rules/types.ts';
import { ApiError } from '../../http/errors.ts';
import { ConfigServiceError } from '../config-client.ts';

/** Runs a read against the configuration service; any failure is 503 SERVICE_UNAVAILABLE. */
export async function configRead<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw unavailable(what, err);
  }
}

function unavailable(what: string, err: unknown): ApiError {
  const status = err instanceof ConfigServiceError ? ` (it answered ${err.status})` : '';
  return new ApiError('SERVICE_UNAVAILABLE', `The configuration service could not ${what}${status}; retry shortly.`, { cause: err });
}

/** The outcome of a configuration write: done, or refused with the configuration rules' violations. */
export type ConfigWriteOutcome = { kind: 'done' } | { kind: 'refused'; violations: Violation[] };

/**
 * Runs a write against the configuration service. A 409 with violations (its rules refused
 * the write) and a 404 (the asset is gone) come back as a refusal; anything else is a 503.
 */
export async function configWrite(what: string, assetId: string, call: () => Promise<void>): Promise<ConfigWriteOutcome> {
  try {
    await call();
    return { kind: 'done' };
  } catch (err) {
    if (err instanceof ConfigServiceError && err.status === 409) {
      const violations = violationsOf(err.problem);
      const errors = violations.filter((v) => v.severity === 'error');
      if (errors.length > 0) return { kind: 'refused', violations };
      const detail = detailOf(err.problem);
      return { kind: 'refused', violations: [{ rule: 'config-write', code: 'CONFIG_REFUSED', message: `The configuration service refused to ${what}: ${detail}`, assetIds: [assetId], severity: 'error' }] };
    }
    if (err instanceof ConfigServiceError && err.status === 404) {
      return { kind: 'refused', violations: [{ rule: 'lifecycle-guard', code: 'ASSET_NOT_FOUND', message: `Asset ${assetId} does not exist (any more).`, assetIds: [assetId], severity: 'error' }] };
    }
    throw unavailable(what, err);
  }
}

function violationsOf(problem: unknown): Violation[] {
  if (typeof problem !== 'object' || problem === null || !('violations' in problem) || !Array.isArray(problem.violations)) return [];
  return problem.violations.filter(
    (v): v is Violation => typeof v === 'object' && v !== null && typeof v.rule === 'string' && typeof v.code === 'string' && typeof v.message === 'string',
  );
}

function detailOf(problem: unknown): string {
  if (typeof problem === 'object' && problem !== null && 'detail' in problem && typeof problem.detail === 'string') return problem.detail;
  return 'no reason given';
}
