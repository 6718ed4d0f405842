import type { Api } from '../lib/http.ts';
import { closedLoop, type LoopOptions } from '../lib/closed-loop.ts';
import { nextOffset, type WriteTarget } from '../lib/fleet.ts';
import type { RunStats } from '../lib/stats.ts';
import { perWorker } from './targets.ts';

/**
 * (2) Validated configuration writes over HTTP: `PATCH /v1/assets/{id}` with a JSON Merge Patch
 * of the configuration and `If-Match`, through authentication, the schema check, the site lock,
 * every rule, the audit chain and the outbox.
 */
export async function runWrites(api: Api | Api[], targets: WriteTarget[], loop: LoopOptions, seed: number): Promise<RunStats> {
  const next = perWorker(targets, loop.concurrency, seed);
  // Several instances: each client keeps to one, as behind a proxy with keep-alive connections.
  const apis = Array.isArray(api) ? api : [api];
  return closedLoop(loop, async (w) => {
    const t = next(w);
    const offset = nextOffset(t.calibrationOffset);
    const res = await apis[w % apis.length].request<{ version: number; entity?: { version: number } }>(
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
  });
}
