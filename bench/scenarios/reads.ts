import type { Api } from '../lib/http.ts';
import { closedLoop, type LoopOptions } from '../lib/closed-loop.ts';
import type { SiteRef, WriteTarget } from '../lib/fleet.ts';
import type { RunStats } from '../lib/stats.ts';
import { perWorker } from './targets.ts';

export type ReadKind = 'asset' | 'list' | 'graph';

/**
 * (6) Reads: one asset (`GET /v1/assets/{id}`), a filtered list page (the sensors of a site,
 * 50 a page) and a site's full graph (`GET /v1/sites/{id}/graph`).
 */
export async function runReads(api: Api, kind: ReadKind, assets: WriteTarget[], sites: SiteRef[], loop: LoopOptions, seed: number): Promise<RunStats> {
  const nextAsset = perWorker(assets, loop.concurrency, seed);
  const nextSite = perWorker(sites, loop.concurrency, seed);
  const path = (w: number) => {
    switch (kind) {
      case 'asset':
        return `/v1/assets/${nextAsset(w).id}`;
      case 'list':
        return `/v1/assets?siteId=${nextSite(w).id}&kind=sensor&limit=50`;
      case 'graph':
        return `/v1/sites/${nextSite(w).id}/graph`;
    }
  };
  return closedLoop(loop, async (w) => (await api.request('GET', path(w))).status === 200);
}
