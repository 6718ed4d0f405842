import type { Asset, Connection } from '../graph/types.ts';
import { label } from './lib/io-describe.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'same-site';

/**
 * The candidate graph holds exactly one site, so anything a parent or cable refers to that is
 * not in it is either in another site or does not exist; both are wrong.
 */
export const sameSite: Rule = {
  id: RULE,
  title: 'Parent, child and cable ends in the same site',
  description:
    "Checks that an asset's parent and both ends of every cable belong to the same site as the asset or cable itself, " +
    'and that a cable does not join a port to itself. A site is one physical place: a meter cannot hang on a gateway in ' +
    'another building and a cable cannot run between two sites, so a reference that leaves the site (or points at an ' +
    'asset that no longer exists) is a data error that would make the gateway poll a device it cannot reach. A cable ' +
    'whose two ends are the same port of the same asset joins nothing. Checked for the touched assets and cables, the ' +
    'children and cables of assets the change deletes.',
  codes: ['PARENT_NOT_IN_SITE', 'CABLE_END_NOT_IN_SITE', 'CABLE_LOOP'],
  severity: 'error',
  check(ctx) {
    const out: Violation[] = [];
    const children = new Map<string, Asset>();
    const cables = new Map<string, Connection>();
    for (const id of ctx.touched.assets) {
      const asset = ctx.candidate.assets.get(id);
      if (asset) children.set(id, asset);
      // Deleting a parent or a cable end strands what referred to it.
      for (const child of ctx.index.children(id)) children.set(child.id, child);
      for (const c of ctx.index.connectionsOf(id)) cables.set(c.id, c);
    }
    for (const id of ctx.touched.connections) {
      const c = ctx.candidate.connections.get(id);
      if (c) cables.set(id, c);
    }
    for (const asset of children.values()) out.push(...checkParent(ctx, asset));
    for (const cable of cables.values()) out.push(...checkCable(ctx, cable));
    return out;
  },
};

function checkParent(ctx: RuleContext, asset: Asset): Violation[] {
  if (asset.parentId === null) return [];
  const parent = ctx.candidate.assets.get(asset.parentId);
  if (parent && parent.siteId === asset.siteId) return [];
  const site = ctx.candidate.site.code;
  return [
    {
      rule: RULE,
      code: 'PARENT_NOT_IN_SITE',
      message: parent
        ? `${label(asset)} hangs under ${label(parent)}, which belongs to another site; a parent must be in site ${site}.`
        : `${label(asset)} refers to parent ${asset.parentId}, which is not an asset of site ${site} (it is in another site or was deleted); choose a parent in this site.`,
      assetIds: [asset.id, asset.parentId],
      severity: 'error',
    },
  ];
}

function checkCable(ctx: RuleContext, cable: Connection): Violation[] {
  const name = cable.label ? `cable "${cable.label}"` : `cable ${cable.id}`;
  const site = ctx.candidate.site.code;
  const ends = [cable.a, cable.b];
  const present = ends.filter((e) => isInSite(ctx, e.assetId)).map((e) => e.assetId);
  const missing = ends.filter((e) => !isInSite(ctx, e.assetId)).map((e) => e.assetId);
  if (missing.length) {
    const uniqueMissing = [...new Set(missing)];
    return [
      {
        rule: RULE,
        code: 'CABLE_END_NOT_IN_SITE',
        message: `${name} ends on ${uniqueMissing.join(' and ')}, not an asset of site ${site} (in another site or deleted); a cable joins two assets of one site — reconnect it or remove it.`,
        assetIds: [...new Set([...present, ...missing])],
        severity: 'error',
      },
    ];
  }
  if (cable.a.assetId === cable.b.assetId && cable.a.port === cable.b.port) {
    const asset = ctx.candidate.assets.get(cable.a.assetId);
    return [
      {
        rule: RULE,
        code: 'CABLE_LOOP',
        message: `${name} runs from port ${cable.a.port} of ${asset ? label(asset) : cable.a.assetId} back to the same port; connect its other end to another device.`,
        assetIds: [cable.a.assetId],
        severity: 'error',
      },
    ];
  }
  return [];
}

function isInSite(ctx: RuleContext, assetId: string): boolean {
  return ctx.candidate.assets.get(assetId)?.siteId === ctx.candidate.site.id;
}
