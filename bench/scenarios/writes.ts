import type { Api } from '../lib/http.ts';
import { closedLoop, type LoopOptions } from '../lib/closed-loop.ts';
import { nextOffset, type WriteTarget } from '../lib/fleet.ts';
import type { RunStats } from '../lib/stats.ts';
import { perWorker, primeSites } from './targets.ts';

/**
 * (2) Validated configuration writes over HTTP: `PATCH /v1/assets/{id}` with a JSON Merge Patch
 * of the configuration and `If-Match`, through authentication, the schema check, the site lock,
 * every rule, the audit chain and the outbox — after one write to each site (`primeSites`; not
 * over several instances, nor with `prime: false`) and then `settle`.
 */
export async function runWrites(api: Api | Api[], targets: WriteTarget[], loop: LoopOptions, seed: number, opts: { prime?: boolean; settle?: () => Promise<void> } = {}): Promise<RunStats> {
  const next = perWorker(targets, loop.concurrency, seed);
  // Several instances: each client keeps to one, as behind a proxy with keep-alive connections.
  const apis = Array.isArray(api) ? api : [api];
  // One instance starts holding every site (see primeSites); several are measured as they come,
  // each finding the sites the others wrote stale.
  if (apis.length === 1 && (opts.prime ?? true)) await primeSites(targets, loop.concurrency, (t) => writeOnce(apis[0], t));
  await opts.settle?.();
  return closedLoop(loop, async (w) => writeOnce(apis[w % apis.length], next(w)));
}

/** One PATCH of `t`'s calibration offset; true when it wrote (a new version). */
async function writeOnce(api: Api, t: WriteTarget): Promise<boolean> {
  const offset = nextOffset(t.calibrationOffset);
  const res = await api.request<{ version: number; entity?: { version: number } }>(
    'PATCH',
    `/v1/assets/${t.id}`,
    { config: { calibrationOffset: offset } },
    { 'if-match': `"asset-${t.id}-v${t.version}"` },
  );
  if (res.status === 200) {
    // A write that changed nothing (the offset already stored) keeps its version: no write at all.
    const wrote = res.body.version > t.version;
    t.version = res.body.version;
    t.calibrationOffset = offset;
    return wrote;
  }
  if (res.status === 412 && res.body.entity) t.version = res.body.entity.version;
  return false;
}
