import type { AssetKind } from '../catalog/types.ts';
import type { AssetStatus, ConfigDoc } from '../graph/types.ts';

/** Fields a client may set when creating an asset. */
export interface NewAsset {
  id?: string;
  kind: AssetKind;
  modelId: string;
  name: string;
  serial?: string | null;
  status?: AssetStatus;
  firmware?: string | null;
  parentId?: string | null;
  port?: string | null;
  /** Defaults to the model's default configuration. */
  config?: ConfigDoc;
}

/** Fields of an asset a merge patch may change (`config` is merged per RFC 7396). */
export interface AssetPatch {
  name?: string;
  serial?: string | null;
  status?: AssetStatus;
  firmware?: string | null;
  parentId?: string | null;
  port?: string | null;
  /** Merged into the configuration per RFC 7396. */
  config?: ConfigDoc;
}

export interface CableEnd {
  assetId: string;
  port: string;
}

export interface NewConnection {
  id?: string;
  a: CableEnd;
  b: CableEnd;
  label?: string | null;
  lengthM: number;
}

export interface ConnectionPatch {
  label?: string | null;
  lengthM?: number;
}

export interface SitePatch {
  name?: string;
  timezone?: string;
  /** Merged into the network per RFC 7396: `vlan: null` removes the VLAN. */
  network?: { subnet?: string; router?: string; vlan?: number | null };
}

/**
 * One operation of a change set. Every write — a single PATCH, a change set, an import, a
 * deployment acknowledgement — is a list of these applied on one site's graph.
 */
export type Operation =
  | { op: 'createAsset'; asset: NewAsset }
  | { op: 'updateAsset'; id: string; expectedVersion: number; patch: AssetPatch }
  | { op: 'setConfig'; id: string; expectedVersion: number; config: ConfigDoc }
  | { op: 'deleteAsset'; id: string; expectedVersion: number }
  | { op: 'connect'; connection: NewConnection }
  | { op: 'updateConnection'; id: string; expectedVersion: number; patch: ConnectionPatch }
  | { op: 'disconnect'; id: string; expectedVersion: number }
  | { op: 'updateSite'; expectedVersion: number; patch: SitePatch }
  | { op: 'markDeployed'; id: string; configVersion: number | null };

export type OperationKind = Operation['op'];
