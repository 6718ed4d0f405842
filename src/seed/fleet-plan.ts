import { distributeAssets } from './asset-counts.ts';
import { DEFAULT_MAX_OPERATIONS, packChangesets } from './changeset-packing.ts';
import type { FleetPlan, SitePlan } from './plan-types.ts';
import { createRng } from './prng.ts';
import { SerialMint } from './serial-mint.ts';
import { IpPool, NameBook, type SiteContext } from './site-context.ts';
import { siteIdentity, SiteNames } from './site-identity.ts';
import { layoutSite } from './site-layout.ts';

export interface FleetPlanOptions {
  sites: number;
  /** Total assets over all sites; the plan has exactly this many. */
  assets: number;
  /** Seed of the random stream (default 1): the same options give the same fleet, uuids included. */
  seed?: number;
  /**
   * Tag of a second fleet in the same database (e.g. `B`): site codes become `B-S0001`, serials
   * `KLV-B-0000001`, and every uuid differs. Empty for the reference fleet.
   */
  prefix?: string;
  /** Largest change set, in operations (default 200). */
  maxOperations?: number;
}

/** Upper-case letters and digits, as site codes allow, short enough to leave room for the rest. */
export const PREFIX_PATTERN = /^[A-Z0-9]{1,12}$/;
/** BACnet device instances are 0–4,194,302; 4,194,303 means "unconfigured". */
const BACNET_INSTANCES = 4_194_303;

/**
 * Plans a realistic fleet: `sites` sites of uneven size holding `assets` assets in all, each
 * site a list of change sets that build it through the API and pass every rule. Pure and
 * deterministic: no I/O, no clock, no `Math.random`.
 *
 * @example
 *   const plan = planFleet({ sites: 500, assets: 25_000 });
 *   plan.sites[0].create;        // { code: 'S0001', name: 'Lyon Store', timezone: 'Europe/Paris', network: {...} }
 *   plan.sites[0].changesets[0]; // { operations: [{ op: 'createAsset', asset: {...} }, ...], comment }
 */
export function planFleet(opts: FleetPlanOptions): FleetPlan {
  const seed = opts.seed ?? 1;
  const prefix = opts.prefix ?? '';
  if (prefix && !PREFIX_PATTERN.test(prefix)) throw new Error(`prefix "${prefix}" must be 1–12 upper-case letters or digits`);
  if (!Number.isInteger(opts.sites) || opts.sites < 0) throw new Error('sites must be a non-negative integer');
  if (!Number.isInteger(opts.assets) || opts.assets < 0) throw new Error('assets must be a non-negative integer');
  const counts = distributeAssets(createRng('fleet', seed, prefix), opts.sites, opts.assets);
  const serials = new SerialMint(prefix);
  const siteNames = new SiteNames();
  const sites = counts.map((target, index): SitePlan => {
    const rng = createRng('site', seed, prefix, index);
    const { create, profile, base } = siteIdentity(rng, index, prefix, siteNames);
    let instances = 0;
    const ctx: SiteContext = {
      rng,
      code: create.code,
      profile,
      serials,
      names: new NameBook(),
      ips: new IpPool(base),
      // Instances numbered by site (S0042 → 42001, 42002, …) read well in a BACnet browser.
      nextBacnetInstance: () => ((index + 1) * 1000 + ++instances) % BACNET_INSTANCES,
    };
    const units = layoutSite(ctx, target);
    return {
      index,
      code: create.code,
      create,
      changesets: packChangesets(units, opts.maxOperations ?? DEFAULT_MAX_OPERATIONS, create.code),
      assets: units.reduce((n, u) => n + u.assets.length, 0),
      cables: units.reduce((n, u) => n + u.cables.length, 0),
    };
  });
  return {
    seed,
    prefix,
    sites,
    assets: sites.reduce((n, s) => n + s.assets, 0),
    cables: sites.reduce((n, s) => n + s.cables, 0),
  };
}
