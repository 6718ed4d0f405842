import type { Asset, Connection } from '../graph/types.ts';
import { label } from './lib/io-describe.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'delete-guard';

export const deleteGuard: Rule = {
  id: RULE,
  title: 'No delete of an asset still in use',
  description:
    'Deleting an asset record does not remove the device from the field. An asset may not be deleted while ' +
    'devices still hang under it (a controller\'s sensors, a gateway\'s meters) — they would be left pointing at ' +
    'nothing — nor while cables still end on it, nor while its device still runs a deployed configuration (the ' +
    'device keeps polling and claiming its bus address, IP or channel with no record to say so). The same change ' +
    'set may clear the way: delete or move the children, remove the cables, and delete the asset together — ' +
    'e.g. a gateway with everything under it and its wiring in one change set, once nothing is deployed. Clearing ' +
    'a deployment is the lifecycle service\'s job (the device acknowledges its removal).',
  codes: ['ASSET_HAS_CHILDREN', 'ASSET_HAS_CABLES', 'ASSET_DEPLOYED'],
  severity: 'error',
  check(ctx) {
    const out: Violation[] = [];
    // A cable between two deleted assets is one conflict: it is reported with the first of them.
    const reportedCables = new Set<string>();
    for (const removed of ctx.removed.values()) {
      const children = ctx.index.children(removed.id);
      if (children.length > 0) {
        out.push({
          rule: RULE,
          code: 'ASSET_HAS_CHILDREN',
          message:
            `${label(removed)} cannot be deleted: ${listOf(children.map(label))} still ${children.length === 1 ? 'hangs' : 'hang'} ` +
            'under it. Delete or move them in the same change set.',
          assetIds: [removed.id, ...children.map((c) => c.id)],
          severity: 'error',
        });
      }
      const cables = ctx.index.connectionsOf(removed.id).filter((c) => !reportedCables.has(c.id));
      for (const c of cables) reportedCables.add(c.id);
      if (cables.length > 0) {
        const others = [...new Set(cables.flatMap((c) => [c.a.assetId, c.b.assetId]))].filter((id) => id !== removed.id);
        out.push({
          rule: RULE,
          code: 'ASSET_HAS_CABLES',
          message:
            `${label(removed)} cannot be deleted: ${listOf(cables.map((c) => describeCable(ctx, removed, c)))} still ` +
            `end${cables.length === 1 ? 's' : ''} on it. Remove the cables in the same change set.`,
          assetIds: [removed.id, ...others],
          severity: 'error',
        });
      }
      if (removed.deployed !== null) {
        out.push({
          rule: RULE,
          code: 'ASSET_DEPLOYED',
          message:
            `${label(removed)} cannot be deleted: its device still runs deployed configuration version ` +
            `${removed.deployed.version}. Decommission the device (remove its configuration and wait for the ` +
            'acknowledgement) before deleting the asset.',
          assetIds: [removed.id],
          severity: 'error',
        });
      }
    }
    return out;
  },
};

/** `cable "K-12" to rs485-1 of gateway GW-1` */
function describeCable(ctx: RuleContext, removed: Asset, c: Connection): string {
  const far = c.a.assetId === removed.id ? c.b : c.a;
  const asset = ctx.candidate.assets.get(far.assetId) ?? ctx.removed.get(far.assetId);
  const name = c.label ? `cable "${c.label}"` : `a cable`;
  return `${name} to ${far.port} of ${asset ? label(asset) : `asset ${far.assetId}`}`;
}

/** `a, b and 3 more`: names enough to act on without flooding the message. */
function listOf(items: string[]): string {
  if (items.length <= 4) return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
  return `${items.slice(0, 3).join(', ')} and ${items.length - 3} more`;
}
