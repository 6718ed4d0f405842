import { busLabel, busMembersInScope, desiredFirst, type Bus } from './lib/bus-scope.ts';
import { claimHolder, label } from './lib/io-describe.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'bus-unit-id-unique';
const MIN_UNIT_ID = 1;
const MAX_UNIT_ID = 247;

/**
 * Modbus RTU addresses a device by its unit id; two devices answering to the same id on one
 * segment reply at once and corrupt each other's frames.
 */
export const busUnitIdUnique: Rule = {
  id: RULE,
  title: 'Modbus unit ids unique on a bus',
  description:
    'Checks that no two devices on one Modbus RTU bus (a gateway and one of its RS-485 ports) use the same unit id, ' +
    "counting both the desired configuration of every device and the configuration still deployed on a device that " +
    'has not yet acknowledged its new one: until then the device keeps answering to its old id. Two slaves with one ' +
    'id answer the same request together, their replies collide on the wire and the master sees CRC errors or the ' +
    "wrong device's registers. Also checks that the id is a usable slave address: the Modbus over Serial Line " +
    'specification reserves 0 for broadcast and 248–255, leaving 1–247. Swapping the ids of two devices in one change ' +
    'is accepted when neither device still runs a deployed configuration with the other id; while one does, the swap ' +
    'has to wait for that acknowledgement (or go through a free id). Buses running BACnet MS/TP are left to ' +
    'mstp-addressing.',
  codes: ['UNIT_ID_TAKEN', 'UNIT_ID_RESERVED'],
  severity: 'error',
  check(ctx) {
    const out: Violation[] = [];
    const reported = new Set<string>();
    for (const { device, bus } of busMembersInScope(ctx)) {
      if (bus.settings?.protocol === 'bacnet-mstp') continue;
      const unitId = device.config.unitId;
      if (typeof unitId !== 'number') continue; // attachment-address reports a missing id
      if (!Number.isInteger(unitId) || unitId < MIN_UNIT_ID || unitId > MAX_UNIT_ID) {
        out.push({
          rule: RULE,
          code: 'UNIT_ID_RESERVED',
          message: `${label(device)} uses unit id ${unitId} on ${busLabel(bus)}, which is not a slave address (0 is broadcast, 248–255 are reserved); choose one of 1–247, e.g. ${lowestFree(ctx, bus) ?? 'after freeing one'}.`,
          assetIds: [device.id],
          path: '/unitId',
          severity: 'error',
        });
        continue;
      }
      const claims = ctx.index.claimsOnPort(bus.gateway.id, bus.port);
      for (const claim of desiredFirst(claims)) {
        const other = claim.asset;
        if (other.id === device.id || claim.config.unitId !== unitId) continue;
        const key = [bus.key, unitId, ...[device.id, other.id].sort()].join('\u0000');
        if (reported.has(key)) continue;
        reported.add(key);
        const free = lowestFree(ctx, bus);
        const wait = claim.source === 'deployed' ? `, or wait until ${label(other)} has acknowledged its new configuration` : '';
        out.push({
          rule: RULE,
          code: 'UNIT_ID_TAKEN',
          message: `Unit id ${unitId} on ${busLabel(bus)} is ${claimHolder(claim)}; give ${label(device)} a free unit id${free === undefined ? ' (the bus has none left; split it)' : ` (lowest free: ${free})`}${wait}.`,
          assetIds: [device.id, other.id],
          path: '/unitId',
          severity: 'error',
        });
      }
    }
    return out;
  },
};


/** The lowest unit id no desired or deployed claim on the bus uses, for the message. */
function lowestFree(ctx: RuleContext, bus: Bus): number | undefined {
  const used = new Set(ctx.index.claimsOnPort(bus.gateway.id, bus.port).map((c) => c.config.unitId));
  for (let id = MIN_UNIT_ID; id <= MAX_UNIT_ID; id++) if (!used.has(id)) return id;
  return undefined;
}
