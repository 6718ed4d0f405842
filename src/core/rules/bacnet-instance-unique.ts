import type { Claim } from '../graph/graph-index.ts';
import { desiredFirst } from './lib/bus-scope.ts';
import { claimHolder, label } from './lib/io-describe.ts';
import type { Rule, Violation } from './types.ts';

const RULE = 'bacnet-instance-unique';
/** 4,194,303 is the "unconfigured" wildcard; 0–4,194,302 are assignable (ANSI/ASHRAE 135). */
const MAX_INSTANCE = 4_194_302;

/**
 * BACnet finds devices by instance number (Who-Is/I-Am); two devices with one instance on an
 * internetwork make every client bind to whichever answers first.
 */
export const bacnetInstanceUnique: Rule = {
  id: RULE,
  title: 'BACnet device instances unique in the site',
  description:
    'Checks that every BACnet device instance (config.bacnetInstance of a gateway, controller or other device) is used ' +
    'by one asset only across the site, which rema treats as one BACnet internetwork: MS/TP segments behind routing ' +
    'gateways and BACnet/IP share one device-instance space. Configurations still deployed on devices that have not ' +
    'acknowledged a new one count too, because such a device keeps answering Who-Is with its old instance. Clients ' +
    'bind to devices by instance, so a duplicate makes a supervisory system read and write the wrong controller — an ' +
    'error that can go unnoticed until a command lands on the wrong plant. Instances range over 0–4,194,302 ' +
    '(ANSI/ASHRAE 135; 4,194,303 means unconfigured). Checked for every touched asset that carries an instance, against ' +
    'the whole site.',
  codes: ['BACNET_INSTANCE_TAKEN'],
  severity: 'error',
  check(ctx) {
    const subjects = [...ctx.touched.assets].flatMap((id) => {
      const asset = ctx.candidate.assets.get(id);
      const instance = asset?.config.bacnetInstance;
      return asset && typeof instance === 'number' ? [{ asset, instance }] : [];
    });
    if (!subjects.length) return [];

    const byInstance = new Map<number, Claim[]>();
    for (const claim of ctx.index.claims) {
      const instance = claim.config.bacnetInstance;
      if (typeof instance !== 'number') continue;
      const list = byInstance.get(instance);
      if (list) list.push(claim);
      else byInstance.set(instance, [claim]);
    }

    const out: Violation[] = [];
    const reported = new Set<string>();
    for (const { asset, instance } of subjects) {
      for (const claim of desiredFirst(byInstance.get(instance) ?? [])) {
        const other = claim.asset;
        if (other.id === asset.id) continue;
        const key = [instance, ...[asset.id, other.id].sort()].join('\u0000');
        if (reported.has(key)) continue;
        reported.add(key);
        const free = nextFree(byInstance, instance);
        const wait = claim.source === 'deployed' ? `, or wait until ${label(other)} has acknowledged its new configuration` : '';
        out.push({
          rule: RULE,
          code: 'BACNET_INSTANCE_TAKEN',
          message:
            `BACnet device instance ${instance} is ${claimHolder(claim)} in site ${ctx.candidate.site.code}; instances must be unique ` +
            `across the BACnet internetwork — give ${label(asset)} another instance${free === undefined ? '' : ` (next free: ${free})`}${wait}.`,
          assetIds: [asset.id, other.id],
          path: '/bacnetInstance',
          severity: 'error',
        });
      }
    }
    return out;
  },
};

/** The next instance above `from` (wrapping to 0) that nothing in the site claims, for the message. */
function nextFree(used: Map<number, Claim[]>, from: number): number | undefined {
  for (let i = 1; i <= used.size + 1; i++) {
    const candidate = (from + i) % (MAX_INSTANCE + 1);
    if (!used.has(candidate)) return candidate;
  }
  return undefined;
}
