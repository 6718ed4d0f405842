import type { DeviceModel } from '../core/catalog/types.ts';
import { chooseFirmware } from './firmware-choice.ts';
import type { BusDeviceSpec, GatewayPlan } from './gateway-plan.ts';
import type { PlannedAsset, PlannedUnit } from './plan-types.ts';
import { catalogModel } from './catalog-model.ts';
import type { SiteContext } from './site-context.ts';
import { assetStatus } from './status.ts';

/** CT primaries as manufactured (IEC 61869-2 preferred ratings and their decimal multiples). */
const CT_PRIMARIES = [5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 100, 125, 150, 200, 250, 300, 400, 500, 600, 750, 800, 1000, 1250, 1500, 1600, 2000, 2500, 3000, 4000, 5000];

interface Circuit {
  names: readonly string[];
  /** Breaker ratings of such circuits, in A. */
  ratedA: readonly number[];
  /** Poll intervals, preferred first: incomers are watched closely, sub-circuits less so. */
  intervals: readonly number[];
}

const MAIN: Circuit = { names: ['Main incomer', 'Transformer T1', 'Main LV board', 'Generator feed'], ratedA: [400, 630, 800, 1000, 1250, 1600, 2000, 2500], intervals: [5000, 15000, 30000] };
const THREE_PHASE: Circuit = {
  names: ['HVAC', 'Chiller', 'Boiler house', 'Lifts', 'Kitchen', 'Lighting', 'Small power', 'EV chargers', 'Server room', 'Compressors', 'Refrigeration', 'Pumps', 'AHU', 'PV inverter'],
  ratedA: [32, 40, 50, 63, 80, 100, 125, 160, 200, 250, 400],
  intervals: [15000, 30000, 60000],
};
const SINGLE_PHASE: Circuit = {
  names: ['Lighting', 'Sockets', 'Signage', 'Water heater', 'Office floor', 'Tenant', 'Vending', 'Security'],
  ratedA: [16, 20, 25, 32, 40, 63],
  intervals: [30000, 60000, 15000],
};

const BUS_METERS: ReadonlyArray<readonly [string, number]> = [
  ['voltis-em-340', 40],
  ['voltis-em-110', 30],
  ['voltis-em-350-mv', 20],
  ['ampera-pm-5560', 10],
];

/**
 * One energy meter, on an RS-485 bus of `gw` or (a power-quality meter at an incomer) on IP,
 * with CTs that suit its inputs and its circuit; undefined when the gateway has no room.
 */
export function planMeter(ctx: SiteContext, gw: GatewayPlan, onIp: boolean): PlannedUnit | undefined {
  const { rng } = ctx;
  const model = catalogModel(onIp ? 'ampera-pm-5560' : rng.weighted(BUS_METERS));
  const circuit = model.meter?.maxPhases === 1 ? SINGLE_PHASE : model.id === 'ampera-pm-5560' ? MAIN : THREE_PHASE;
  const points = model.points ?? 1;
  if (onIp) {
    const intervalMs = circuit.intervals.find((i) => gw.canPoll(points, i));
    const ip = intervalMs === undefined ? undefined : ctx.ips.take('device');
    if (intervalMs === undefined || !ip) return undefined;
    gw.attachOnIp(points, intervalMs);
    const asset = meterAsset(ctx, model, circuit, gw.asset.id, null, ['modbus-tcp']);
    asset.config = { ip, pollIntervalMs: intervalMs, ...asset.config };
    return { assets: [asset], cables: [] };
  }
  const spec: BusDeviceSpec = { model, protocol: 'modbus-rtu', points, intervals: circuit.intervals, hopM: [0.5, 12], preferredBus: 0 };
  const placement = gw.placeOnBus(spec);
  if (!placement) return undefined;
  const asset = meterAsset(ctx, model, circuit, gw.asset.id, placement.bus.port, ['modbus-rtu']);
  const { address, cable } = gw.attachToBus(placement, spec, asset.id);
  asset.config = { unitId: address, serial: { ...placement.bus.serial }, pollIntervalMs: placement.intervalMs, ...asset.config };
  return { assets: [asset], cables: [cable] };
}

function meterAsset(ctx: SiteContext, model: DeviceModel, circuit: Circuit, parentId: string, port: string | null, features: string[]): PlannedAsset {
  const { rng } = ctx;
  const ratedA = rng.pick(circuit.ratedA);
  // Installers fit the next CT size up, sometimes one more for headroom; never beyond 4× rated.
  const fit = CT_PRIMARIES.findIndex((p) => p >= ratedA);
  const primaryA = CT_PRIMARIES[Math.min(fit + (rng.chance(0.3) ? 1 : 0), CT_PRIMARIES.length - 1)];
  const secondaries = model.meter?.ctSecondary ?? ['5A'];
  const secondary = secondaries.includes('5A') && rng.chance(0.7) ? '5A' : rng.pick(secondaries);
  return {
    id: rng.uuid(),
    kind: 'meter',
    modelId: model.id,
    name: `${ctx.names.next('EM')} ${rng.pick(circuit.names)}`,
    serial: ctx.serials.next(model.vendor),
    status: assetStatus(rng),
    firmware: chooseFirmware(rng, model, features),
    parentId,
    port,
    config: { ct: { primaryA, secondary }, ratedCurrentA: ratedA, phases: model.meter?.maxPhases ?? 3 },
  };
}
