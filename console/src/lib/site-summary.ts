/**
 * Per-site figures for the fleet overview — asset count and drift (GET /v1/sites/{id}/drift),
 * validation (POST /v1/sites/{id}/validate) — fetched only for the rows on screen, four at a
 * time, and cached for the session. (The API has no fleet summary endpoint yet.)
 */
import { api, call, toApiError } from '../api/client.ts';

export interface SiteSummary {
  assets: number;
  drifted: number;
  notReported: number;
  inSync: number;
  valid: boolean | null;
  errors: number;
  warnings: number;
  problem: string | null;
}

const cache = new Map<string, Promise<SiteSummary>>();
const queue: Array<() => void> = [];
let running = 0;

function schedule<T>(job: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const run = () => {
      running++;
      job()
        .then(resolve, reject)
        .finally(() => {
          running--;
          queue.shift()?.();
        });
    };
    if (running < 4) run();
    else queue.push(run);
  });
}

async function load(siteId: string): Promise<SiteSummary> {
  const [drift, validation] = await Promise.all([
    call(api.GET('/v1/sites/{id}/drift', { params: { path: { id: siteId }, query: { driftOnly: true } } })),
    call(api.POST('/v1/sites/{id}/validate', { params: { path: { id: siteId } } })).catch((e) => toApiError(e)),
  ]);
  const ok = !('status' in validation && 'problem' in validation);
  const v = ok ? (validation as { valid: boolean; violations: Array<{ severity: string }> }) : null;
  return {
    assets: drift.summary.assets,
    drifted: drift.summary.drifted,
    notReported: drift.summary.notReported,
    inSync: drift.summary.inSync,
    valid: v ? v.valid : null,
    errors: v ? v.violations.filter((x) => x.severity === 'error').length : 0,
    warnings: v ? v.violations.filter((x) => x.severity === 'warning').length : 0,
    problem: v ? null : 'validation unavailable',
  };
}

export function siteSummary(siteId: string, fresh = false): Promise<SiteSummary> {
  if (fresh) cache.delete(siteId);
  let p = cache.get(siteId);
  if (!p) {
    p = schedule(() => load(siteId));
    p.catch(() => cache.delete(siteId));
    cache.set(siteId, p);
  }
  return p;
}

export const forgetSiteSummary = (siteId: string) => cache.delete(siteId);
