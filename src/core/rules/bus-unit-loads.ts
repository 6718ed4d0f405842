import type { Asset } from '../graph/types.ts';
import { busLabel, changedFirst, devicesOn, touchedBuses, type Bus } from './lib/bus-scope.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'bus-unit-loads';
/** A device whose model declares no unit load is counted as one standard unit load. */
const DEFAULT_UNIT_LOAD = 1;
/** Float sums of 1/8 loads are exact, but leave room for any other fraction a model declares. */
const EPSILON = 1e-9;

/**
 * An RS-485 driver can only hold the line at valid levels against so many receivers; beyond
 * that the differential voltage sags and every device on the segment starts losing frames.
 */
export const busUnitLoads: Rule = {
  id: RULE,
  title: 'Bus electrical load and device count within capacity',
  description:
    'Checks two limits of each RS-485 bus a change reaches. Electrical: TIA/EIA-485 specifies drivers for 32 standard ' +
    "unit loads per segment (the gateway port's capacity in the catalog); a device contributes its model's unitLoad " +
    '(1, or ½, ¼, ⅛ for high-impedance transceivers; 1 when the model does not say). The sum over the devices on the ' +
    'bus must not exceed the capacity, or the driver can no longer guarantee valid signal levels and the whole segment ' +
    'becomes unreliable. Because load is electrical, a device whose still-deployed configuration places it on the bus ' +
    'counts there until its device acknowledges the move (it is presumably still wired there); each device counts once. ' +
    "Logical: the number of devices whose desired configuration is on the bus must not exceed the bus's configured " +
    "maxDevices, the size of the gateway's poll table for that port. Checked for the bus of every touched device and " +
    'every bus of a touched gateway.',
  codes: ['BUS_UNIT_LOADS_EXCEEDED', 'BUS_MAX_DEVICES_EXCEEDED'],
  severity: 'error',
  check(ctx) {
    return touchedBuses(ctx).flatMap((bus) => [...checkLoads(ctx, bus), ...checkCount(ctx, bus)]);
  },
};

function checkLoads(ctx: RuleContext, bus: Bus): Violation[] {
  const wired = new Map<string, Asset>();
  let stillDeployed = 0;
  for (const claim of ctx.index.claimsOnPort(bus.gateway.id, bus.port)) {
    if (wired.has(claim.asset.id)) continue;
    wired.set(claim.asset.id, claim.asset);
    if (claim.source === 'deployed' && (claim.asset.parentId !== bus.gateway.id || claim.asset.port !== bus.port)) stillDeployed++;
  }
  const devices = [...wired.values()];
  const total = devices.reduce((sum, d) => sum + (ctx.catalog.get(d.modelId)?.unitLoad ?? DEFAULT_UNIT_LOAD), 0);
  const capacity = bus.spec.capacity;
  if (total <= capacity + EPSILON) return [];
  const pending = stillDeployed ? `, of which ${stillDeployed} still deployed there until acknowledged` : '';
  return [
    {
      rule: RULE,
      code: 'BUS_UNIT_LOADS_EXCEEDED',
      message:
        `${busLabel(bus)} would carry ${fmt(total)} unit loads from ${devices.length} devices${pending}, but the port drives ` +
        `${fmt(capacity)} (TIA/EIA-485 standard unit loads); move devices to another bus, add a repeater to start a new ` +
        'segment, or use devices with fractional-load transceivers.',
      assetIds: changedFirst(ctx, [bus.gateway.id, ...devices.map((d) => d.id)]),
      severity: 'error',
    },
  ];
}

function checkCount(ctx: RuleContext, bus: Bus): Violation[] {
  const max = bus.settings?.maxDevices;
  const devices = devicesOn(ctx, bus);
  if (typeof max !== 'number' || devices.length <= max) return [];
  const assetIds = changedFirst(ctx, [bus.gateway.id, ...devices.map((d) => d.id)]);
  // The limit is a field of the gateway's document: point at it when the gateway leads.
  const gatewayLeads = assetIds[0] === bus.gateway.id && ctx.touched.assets.has(bus.gateway.id);
  return [
    {
      rule: RULE,
      code: 'BUS_MAX_DEVICES_EXCEEDED',
      message:
        `${busLabel(bus)} has ${devices.length} devices but is configured for at most ${max}; raise the bus's maxDevices ` +
        '(if the gateway and the electrical load allow) or move devices to another bus.',
      assetIds,
      ...(gatewayLeads ? { path: `/buses/${bus.port}/maxDevices` } : {}),
      severity: 'error',
    },
  ];
}

const fmt = (n: number) => String(Number(n.toFixed(3)));
