import type { Catalog } from '../catalog/catalog.ts';
import type { Asset, SiteGraph } from '../graph/types.ts';
import type { GraphIndex } from '../graph/graph-index.ts';

export type Severity = 'error' | 'warning';

export interface Violation {
  /** Rule id, e.g. `bus-unit-id-unique`. */
  rule: string;
  /** Stable machine code, e.g. `UNIT_ID_TAKEN`. */
  code: string;
  /** What is wrong and what to do about it, for an engineer. */
  message: string;
  /** Every asset involved: the one being changed first, then the ones it conflicts with. */
  assetIds: string[];
  /** JSON Pointer into the changed entity's document, when one field is at fault. */
  path?: string;
  severity: Severity;
}

/** What a rule sees: the candidate state, what the change touched, and the state before. */
export interface RuleContext {
  /** Current state with the change applied. */
  candidate: SiteGraph;
  /** Indexes over `candidate` (children, bus members, claims). */
  index: GraphIndex;
  /** State before the change. */
  before: SiteGraph;
  /** Assets and connections the change created, updated or deleted. */
  touched: { assets: Set<string>; connections: Set<string> };
  /** Assets the change deletes (present in `before`, absent from `candidate`). */
  removed: Map<string, Asset>;
  catalog: Catalog;
  /**
   * Fleet-wide facts the write path looked up for the touched assets:
   * serial number → id of the asset holding it in another site, or null when that site is
   * another organisation's (the writer may learn that the serial is taken, not by what).
   */
  fleet: { serialOwners: Map<string, string | null> };
}

export interface Rule {
  id: string;
  title: string;
  /** One paragraph for docs and `GET /v1/rules`: what is checked and why. */
  description: string;
  /** Codes this rule can emit. */
  codes: string[];
  severity: Severity;
  check(ctx: RuleContext): Violation[];
}
