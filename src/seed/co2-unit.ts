import { catalogModel } from './catalog-model.ts';
import { chooseFirmware } from './firmware-choice.ts';
import type { BusDeviceSpec, GatewayPlan } from './gateway-plan.ts';
import type { PlannedUnit } from './plan-types.ts';
import type { SiteContext } from './site-context.ts';
import { assetStatus } from './status.ts';

const ROOMS = ['Meeting room', 'Open office', 'Canteen', 'Classroom', 'Lobby', 'Conference hall', 'Waiting area', 'Break room', 'Training room', 'Sales floor'];

/** A Modbus CO2 sensor on one of the gateway's Modbus buses (a room's air-quality point). */
export function planCo2Sensor(ctx: SiteContext, gw: GatewayPlan): PlannedUnit | undefined {
  const { rng } = ctx;
  const model = catalogModel('airq-co2-mb');
  const spec: BusDeviceSpec = {
    model,
    protocol: 'modbus-rtu',
    points: model.points ?? 1,
    intervals: rng.chance(0.5) ? [30000, 60000] : [60000],
    hopM: [8, 40],
    preferredBus: gw.buses.length - 1,
  };
  const placement = gw.placeOnBus(spec);
  if (!placement) return undefined;
  const id = rng.uuid();
  const { address, cable } = gw.attachToBus(placement, spec, id);
  const span = rng.pick([2000, 5000]);
  return {
    assets: [
      {
        id,
        kind: 'sensor',
        modelId: model.id,
        name: `${ctx.names.next('CO2')} ${rng.pick(ROOMS)}`,
        serial: ctx.serials.next(model.vendor),
        status: assetStatus(rng),
        firmware: chooseFirmware(rng, model, ['modbus-rtu']),
        parentId: gw.asset.id,
        port: placement.bus.port,
        config: {
          outputSignal: 'modbus-rtu',
          unit: model.sensor?.unit ?? 'ppm',
          range: { min: 0, max: span },
          calibrationOffset: 0,
          alarms: { high: rng.pick([1000, 1200, 1400]) },
          unitId: address,
          serial: { ...placement.bus.serial },
          pollIntervalMs: placement.intervalMs,
        },
      },
    ],
    cables: [cable],
  };
}
