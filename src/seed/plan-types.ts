import type { AssetKind } from '../core/catalog/types.ts';
import type { Operation } from '../core/changes/operations.ts';
import type { AssetStatus, ConfigDoc, SiteNetwork } from '../core/graph/types.ts';

/** The body of `POST /v1/sites` for one seeded site. */
export interface SiteCreateBody {
  code: string;
  name: string;
  timezone: string;
  network: SiteNetwork;
}

/** The body of `POST /v1/sites/{siteId}/changesets`. */
export interface ChangesetBody {
  operations: Operation[];
  comment: string;
}

/** Everything needed to seed one site through the API, in order. */
export interface SitePlan {
  /** Position in the fleet, from 0. */
  index: number;
  code: string;
  create: SiteCreateBody;
  /** Applied one after the other; parents come before children, cables after both ends. */
  changesets: ChangesetBody[];
  assets: number;
  cables: number;
}

export interface FleetPlan {
  seed: number;
  prefix: string;
  sites: SitePlan[];
  assets: number;
  cables: number;
}

/** An asset of the plan, with its client-chosen id and every field set. */
export interface PlannedAsset {
  id: string;
  kind: AssetKind;
  modelId: string;
  name: string;
  serial: string | null;
  status: AssetStatus;
  firmware: string | null;
  parentId: string | null;
  port: string | null;
  config: ConfigDoc;
}

export interface PlannedCable {
  id: string;
  a: { assetId: string; port: string };
  b: { assetId: string; port: string };
  label: string;
  lengthM: number;
}

/**
 * Assets and cables that must reach the server together: a controller with its sensors, its
 * sensor cables and the loops that read them, or a meter with the cable that chains it onto
 * its bus. A unit is never split across change sets, so every change set passes the rules.
 */
export interface PlannedUnit {
  assets: PlannedAsset[];
  cables: PlannedCable[];
}
