import type { Claim } from '../graph/graph-index.ts';
import type { Asset, AssetPlacement } from '../graph/types.ts';
import { busSettings } from './lib/bus-scope.ts';
import { claimHolder, label } from './lib/io-describe.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'acknowledged-claims-free';

/** A physical resource a placement claims, keyed so two claims on one resource compare equal. */
interface Resource {
  key: string;
  code: string;
  what: string;
  path: string;
}

/**
 * The resources a placement holds: its Modbus unit id or MS/TP MAC on its bus, its channel,
 * its IP and BACnet instance in the site.
 */
function resourcesOf(ctx: RuleContext, asset: Asset, p: AssetPlacement): Resource[] {
  const out: Resource[] = [];
  const parent = p.parentId ? ctx.candidate.assets.get(p.parentId) : undefined;
  if (parent && p.port) {
    if (parent.kind === 'gateway') {
      const mstp = busSettings(parent, p.port)?.protocol === 'bacnet-mstp';
      if (!mstp && typeof p.config.unitId === 'number') {
        out.push({ key: `unit:${parent.id}:${p.port}:${p.config.unitId}`, code: 'DEPLOYED_UNIT_ID_CONFLICT', what: `unit id ${p.config.unitId} on bus ${p.port} of ${label(parent)}`, path: '/unitId' });
      }
      if (mstp && typeof p.config.mstpMac === 'number') {
        out.push({ key: `mac:${parent.id}:${p.port}:${p.config.mstpMac}`, code: 'DEPLOYED_MSTP_MAC_CONFLICT', what: `MS/TP MAC ${p.config.mstpMac} on bus ${p.port} of ${label(parent)}`, path: '/mstpMac' });
      }
    } else if (parent.kind === 'controller' && asset.kind === 'sensor') {
      out.push({ key: `channel:${parent.id}:${p.port}`, code: 'DEPLOYED_CHANNEL_CONFLICT', what: `channel ${p.port} of ${label(parent)}`, path: '' });
    }
  }
  if (typeof p.config.ip === 'string') out.push({ key: `ip:${p.config.ip}`, code: 'DEPLOYED_IP_CONFLICT', what: `IP ${p.config.ip}`, path: '/ip' });
  if (typeof p.config.bacnetInstance === 'number') {
    out.push({ key: `bacnet:${p.config.bacnetInstance}`, code: 'DEPLOYED_BACNET_INSTANCE_CONFLICT', what: `BACnet instance ${p.config.bacnetInstance}`, path: '/bacnetInstance' });
  }
  return out;
}

/**
 * Every other rule on physical resources checks what a change asks for (desired claims). This
 * one checks the other way in: a device acknowledging a configuration that is no longer the
 * desired one (an older deployment finishing late) claims that version's resources again, and
 * they may have been given to another asset meanwhile.
 */
export const acknowledgedClaimsFree: Rule = {
  id: RULE,
  title: 'An acknowledged configuration claims only free resources',
  description:
    'When a device acknowledges a configuration version other than its asset\'s desired one — a deployment of an ' +
    'older version finishing after the configuration moved on — the resources of that version (Modbus unit id or ' +
    'MS/TP MAC on its bus, controller channel, IP address, BACnet instance) are claimed again by the device. If ' +
    'another asset was given one of them in the meantime, two devices would now answer to one address. The ' +
    'acknowledgement is refused with the conflicting asset named, so the deployment records the failure and an ' +
    'engineer resolves it (deploy the current configuration, or move the other asset).',
  codes: ['DEPLOYED_UNIT_ID_CONFLICT', 'DEPLOYED_MSTP_MAC_CONFLICT', 'DEPLOYED_CHANNEL_CONFLICT', 'DEPLOYED_IP_CONFLICT', 'DEPLOYED_BACNET_INSTANCE_CONFLICT'],
  severity: 'error',
  check(ctx) {
    const out: Violation[] = [];
    const fresh: Array<{ asset: Asset; placement: AssetPlacement & { version: number } }> = [];
    for (const id of ctx.touched.assets) {
      const asset = ctx.candidate.assets.get(id);
      const d = asset?.deployed;
      if (!asset || !d || d.version === asset.configVersion) continue;
      if (ctx.before.assets.get(id)?.deployed?.version === d.version) continue; // not newly acknowledged
      fresh.push({ asset, placement: d });
    }
    if (fresh.length === 0) return out;

    const holders = new Map<string, Claim[]>();
    for (const claim of ctx.index.claims) {
      for (const r of resourcesOf(ctx, claim.asset, claim)) {
        const list = holders.get(r.key);
        if (list) list.push(claim);
        else holders.set(r.key, [claim]);
      }
    }
    for (const { asset, placement } of fresh) {
      for (const r of resourcesOf(ctx, asset, placement)) {
        for (const other of holders.get(r.key) ?? []) {
          if (other.asset.id === asset.id) continue;
          out.push({
            rule: RULE,
            code: r.code,
            message: `${label(asset)} acknowledged configuration version ${placement.version}, which uses ${r.what}, ${claimHolder(other)}; deploy ${label(asset)}'s current configuration (version ${asset.configVersion}) or move ${label(other.asset)} first.`,
            assetIds: [asset.id, other.asset.id],
            ...(r.path ? { path: r.path } : {}),
            severity: 'error',
          });
        }
      }
    }
    return out;
  },
};
