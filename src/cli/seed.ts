import { planFleet } from '../seed/fleet-plan.ts';
import type { SitePlan } from '../seed/plan-types.ts';
import { fmt, seedProgress } from '../seed/seed-progress.ts';
import { SeedFailure, uploadSite, type SiteUpload } from '../seed/upload-site.ts';
import { apiClient } from './api-client.ts';

export interface SeedOptions {
  sites: number;
  assets: number;
  url: string;
  token?: string;
  /** Sites seeded in parallel (each site's change sets go one after the other). */
  concurrency: number;
  /** Seed of the generated fleet (default 1): the same seed gives the same fleet, uuids included. */
  seed?: number;
  /** Seeds a second fleet beside the first: site codes `<PREFIX>-S0001`, its own serials and ids. */
  prefix?: string;
}

export interface SeedSummary {
  sites: number;
  created: number;
  resumed: number;
  /** Sites that were already fully seeded. */
  skipped: number;
  /** Assets and cables written by this run. */
  assets: number;
  cables: number;
  elapsedS: number;
  assetsPerS: number;
  /** Why the run stopped early, when it did. */
  failure?: string;
}

/**
 * `rema seed`: plans a realistic fleet (see `planFleet`) and builds it through the public API —
 * `POST /v1/sites` and change sets, the write path every client uses — with `concurrency`
 * sites in flight. 429/503 are retried with backoff; any other refusal stops the run with the
 * server's problem body. Re-running with the same options is idempotent: a site whose code
 * exists is skipped when complete and resumed when an earlier run was interrupted. To seed a
 * second fleet into the same database, pass a `prefix`.
 *
 * @example
 *   await seedCommand({ sites: 500, assets: 25_000, url: 'http://127.0.0.1:8080', concurrency: 8 });
 */
export async function seedCommand(opts: SeedOptions): Promise<SeedSummary> {
  if (opts.prefix !== undefined && opts.prefix.trim() === '') throw new Error('--prefix is empty: leave it out to seed the fleet without a prefix, or give a tag');
  const prefix = (opts.prefix ?? '').toUpperCase();
  const plan = planFleet({ sites: opts.sites, assets: opts.assets, seed: opts.seed ?? 1, prefix });
  const api = apiClient(opts.url, opts.token);
  const changesets = plan.sites.reduce((n, s) => n + s.changesets.length, 0);
  console.error(
    `rema seed: ${fmt(plan.sites.length)} sites, ${fmt(plan.assets)} assets, ${fmt(plan.cables)} cables in ${fmt(changesets)} change sets ` +
      `(seed ${plan.seed}${prefix ? `, prefix ${prefix}` : ''}) → ${opts.url}`,
  );

  const progress = seedProgress(plan.assets, plan.sites.length);
  const started = performance.now();
  const uploads: SiteUpload[] = [];
  const failure = await runPool(plan.sites, Math.max(1, opts.concurrency), async (site: SitePlan) => {
    const upload = await uploadSite(api, site, (n) => progress.assets(n));
    progress.alreadyThere(site.assets - upload.assets);
    progress.siteDone();
    uploads.push(upload);
  });
  progress.stop();

  const elapsedS = (performance.now() - started) / 1000;
  const summary: SeedSummary = {
    sites: uploads.length,
    created: uploads.filter((u) => u.outcome === 'created').length,
    resumed: uploads.filter((u) => u.outcome === 'resumed').length,
    skipped: uploads.filter((u) => u.outcome === 'skipped').length,
    assets: sum(uploads.map((u) => u.assets)),
    cables: sum(uploads.map((u) => u.cables)),
    elapsedS,
    assetsPerS: sum(uploads.map((u) => u.assets)) / Math.max(elapsedS, 0.001),
    ...(failure ? { failure: failure.message } : {}),
  };
  printSummary(summary, uploads, plan.sites.length);
  if (failure) {
    printFailure(failure);
    process.exitCode = 1;
  }
  return summary;
}

/** Runs `work` over `items` with `concurrency` workers; the first failure stops new work. */
async function runPool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<Error | undefined> {
  let next = 0;
  let failure: Error | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (err) {
        failure ??= err instanceof Error ? err : new Error(String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return failure;
}

function printSummary(s: SeedSummary, uploads: SiteUpload[], planned: number) {
  if (s.sites > 0 && s.skipped === s.sites && s.skipped === planned) {
    console.log(`the fleet is already seeded: all ${fmt(s.skipped)} sites exist with every planned asset; nothing written (use --prefix to seed a second fleet)`);
    return;
  }
  const changesetMs = uploads.flatMap((u) => u.changesetMs).sort((a, b) => a - b);
  const siteMs = uploads.map((u) => u.siteMs).sort((a, b) => a - b);
  console.log(`sites      ${fmt(s.sites)} of ${fmt(planned)} (${fmt(s.created)} created, ${fmt(s.resumed)} resumed, ${fmt(s.skipped)} already seeded)`);
  console.log(`assets     ${fmt(s.assets)}`);
  console.log(`cables     ${fmt(s.cables)}`);
  console.log(`elapsed    ${s.elapsedS.toFixed(1)} s`);
  console.log(`rate       ${fmt(Math.round(s.assetsPerS))} assets/s`);
  if (changesetMs.length) {
    console.log(
      `latency    change set median ${ms(quantile(changesetMs, 0.5))}, p95 ${ms(quantile(changesetMs, 0.95))}, max ${ms(changesetMs[changesetMs.length - 1])}; ` +
        `site create median ${ms(quantile(siteMs, 0.5))}`,
    );
  }
}

function printFailure(err: Error) {
  console.error(`\nrema seed stopped: ${err.message}`);
  if (err instanceof SeedFailure && err.problem !== null && err.problem !== undefined) {
    const body = JSON.stringify(err.problem, null, 2);
    console.error(body.length > 8000 ? `${body.slice(0, 8000)}\n… (${fmt(body.length - 8000)} more characters)` : body);
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
const ms = (x: number) => `${Math.round(x)} ms`;
