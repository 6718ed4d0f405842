import type { ApiClient } from '../cli/api-client.ts';
import type { ChangesetBody, SitePlan } from './plan-types.ts';
import { requestWithRetry, type ApiResponse } from './retrying-request.ts';

/** How a site ended up: created now, completed after an interrupted run, or already there. */
export type SiteOutcome = 'created' | 'resumed' | 'skipped';

export interface SiteUpload {
  outcome: SiteOutcome;
  assets: number;
  cables: number;
  /** Duration of each change set request, in ms, for the timing summary. */
  changesetMs: number[];
  siteMs: number;
}

/** A refusal that stops the seed: what was being done, and the problem body the server sent. */
export class SeedFailure extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly problem: unknown,
  ) {
    super(message);
  }
}

/**
 * Seeds one site through the public API: `POST /v1/sites`, then its change sets in order. When
 * the site code exists (409), the site is looked up and only the change sets whose assets are
 * missing are sent: a completed site is skipped, an interrupted one resumed. A site holding
 * assets this plan did not create is refused, so two different fleets never mix in one site.
 */
export async function uploadSite(api: ApiClient, plan: SitePlan, onChangeset: (assets: number) => void): Promise<SiteUpload> {
  const created = await requestWithRetry<{ id: string }>(api, 'POST', '/v1/sites', plan.create);
  let siteId: string;
  let pending = plan.changesets;
  let outcome: SiteOutcome = 'created';
  if (created.status === 201) siteId = created.body.id;
  else if (created.status === 409) {
    siteId = await existingSiteId(api, plan.code);
    pending = await missingChangesets(api, siteId, plan);
    outcome = pending.length === 0 ? 'skipped' : 'resumed';
  } else throw failure(`creating site ${plan.code}`, created);

  const upload: SiteUpload = { outcome, assets: 0, cables: 0, changesetMs: [], siteMs: created.ms };
  for (const cs of pending) {
    // The answer's `changes` would echo every asset and cable back: the seed reads only the status.
    const res = await requestWithRetry(api, 'POST', `/v1/sites/${siteId}/changesets`, cs, { headers: { prefer: 'return=minimal' } });
    const applied = res.status === 201 || (res.maybeApplied && (await appliedIn(api, siteId, cs)));
    if (!applied) throw failure(`applying ${cs.comment}`, res);
    const assets = count(cs, 'createAsset');
    upload.assets += assets;
    upload.cables += count(cs, 'connect');
    upload.changesetMs.push(res.ms);
    onChangeset(assets);
  }
  return upload;
}

async function existingSiteId(api: ApiClient, code: string): Promise<string> {
  const res = await requestWithRetry<{ items: Array<{ id: string }> }>(api, 'GET', `/v1/sites?code=${encodeURIComponent(code)}`);
  const id = res.status === 200 ? res.body.items[0]?.id : undefined;
  if (!id) throw failure(`looking up existing site ${code}`, res);
  return id;
}

/** The change sets of `plan` whose assets the stored site does not hold yet. */
async function missingChangesets(api: ApiClient, siteId: string, plan: SitePlan): Promise<ChangesetBody[]> {
  const res = await requestWithRetry<{ assets: Array<{ id: string }> }>(api, 'GET', `/v1/sites/${siteId}/graph`);
  if (res.status !== 200) throw failure(`reading site ${plan.code}`, res);
  const stored = new Set(res.body.assets.map((a) => a.id));
  // A change set is atomic, so its first asset tells whether it was applied.
  const missing = plan.changesets.filter((cs) => !stored.has(firstAssetId(cs) ?? ''));
  if (stored.size > 0 && missing.length === plan.changesets.length) {
    throw new SeedFailure(
      `site ${plan.code} already exists with ${stored.size} asset(s) this plan did not create (another --seed, or edited by hand); ` +
        'leave it, or seed a second fleet beside it with --prefix',
      409,
      null,
    );
  }
  return missing;
}

async function appliedIn(api: ApiClient, siteId: string, cs: ChangesetBody): Promise<boolean> {
  const id = firstAssetId(cs);
  if (!id) return false;
  const res = await requestWithRetry<{ siteId: string }>(api, 'GET', `/v1/assets/${id}`);
  return res.status === 200 && res.body.siteId === siteId;
}

function firstAssetId(cs: ChangesetBody): string | undefined {
  for (const o of cs.operations) if (o.op === 'createAsset') return o.asset.id;
  return undefined;
}

const count = (cs: ChangesetBody, op: 'createAsset' | 'connect') => cs.operations.filter((o) => o.op === op).length;

function failure(what: string, res: ApiResponse<unknown>): SeedFailure {
  return new SeedFailure(`${what} failed with HTTP ${res.status}`, res.status, res.body);
}
