import { busLabel, busMembersInScope, desiredFirst, changedFirst } from './lib/bus-scope.ts';
import { claimHolder, label } from './lib/io-describe.ts';
import type { Rule, Violation } from './types.ts';

const RULE = 'mstp-addressing';
/** MS/TP masters use MACs 0–127; Max_Master defaults to 127 (ANSI/ASHRAE 135, clause 9). */
const DEFAULT_MAX_MASTER = 127;

/**
 * On BACnet MS/TP the token circulates among master MACs up to Max_Master: a duplicate MAC
 * breaks token passing, and a master above Max_Master is never polled for the token.
 */
export const mstpAddressing: Rule = {
  id: RULE,
  title: 'BACnet MS/TP addresses unique and within Max_Master',
  description:
    'Checks the addresses of devices on each BACnet MS/TP bus a change reaches. Every device needs its own MS/TP MAC ' +
    'on the bus (masters use 0–127), counting desired configurations and configurations still deployed on devices ' +
    'that have not acknowledged a new one: two masters with one MAC both answer the token and the segment keeps ' +
    "reinitialising. And the bus's maxMaster (Max_Master, 127 when not set) must be at least the highest master MAC on " +
    'it: a master only passes the token, and polls for new masters, up to Max_Master, so a device above it never gets ' +
    'the token and never talks (ANSI/ASHRAE 135, clause 9). Lowering maxMaster to shorten token rotation is a common ' +
    'tuning step that silently strands the highest devices. Checked for touched devices on an MS/TP bus and every ' +
    'device on the buses of a touched gateway.',
  codes: ['MSTP_MAC_TAKEN', 'MSTP_MAC_ABOVE_MAX_MASTER'],
  severity: 'error',
  check(ctx) {
    const out: Violation[] = [];
    const reported = new Set<string>();
    for (const { device, bus } of busMembersInScope(ctx)) {
      if (bus.settings?.protocol !== 'bacnet-mstp') continue;
      const mac = device.config.mstpMac;
      if (typeof mac !== 'number') continue; // attachment-address reports a missing MAC

      for (const claim of desiredFirst(ctx.index.claimsOnPort(bus.gateway.id, bus.port))) {
        const other = claim.asset;
        if (other.id === device.id || claim.config.mstpMac !== mac) continue;
        const key = [bus.key, mac, ...[device.id, other.id].sort()].join('\u0000');
        if (reported.has(key)) continue;
        reported.add(key);
        const wait = claim.source === 'deployed' ? `, or wait until ${label(other)} has acknowledged its new configuration` : '';
        out.push({
          rule: RULE,
          code: 'MSTP_MAC_TAKEN',
          message: `MS/TP MAC ${mac} on ${busLabel(bus)} is ${claimHolder(claim)}; give ${label(device)} a MAC no other device on the bus uses${wait}.`,
          assetIds: [device.id, other.id],
          path: '/mstpMac',
          severity: 'error',
        });
      }

      const maxMaster = bus.settings.maxMaster ?? DEFAULT_MAX_MASTER;
      if (mac > maxMaster) {
        const deviceFirst = ctx.touched.assets.has(device.id);
        out.push({
          rule: RULE,
          code: 'MSTP_MAC_ABOVE_MAX_MASTER',
          message:
            `${label(device)} has MS/TP MAC ${mac} but ${busLabel(bus)} has maxMaster ${maxMaster}, so the token never reaches it; ` +
            (deviceFirst ? `give it a MAC of at most ${maxMaster}, or raise the bus's maxMaster to ${mac}.` : `keep maxMaster at ${mac} or more, or readdress the device first.`),
          assetIds: changedFirst(ctx, [device.id, bus.gateway.id]),
          path: deviceFirst ? '/mstpMac' : `/buses/${bus.port}/maxMaster`,
          severity: 'error',
        });
      }
    }
    return out;
  },
};
