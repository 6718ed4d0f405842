import type { DeviceModel, PortSpec, Signal } from '../core/catalog/types.ts';
import type { ConfigDoc } from '../core/graph/types.ts';
import { catalogModel } from './catalog-model.ts';
import { chooseFirmware } from './firmware-choice.ts';
import { supports, type BusDeviceSpec, type GatewayPlan } from './gateway-plan.ts';
import type { PlannedAsset, PlannedUnit } from './plan-types.ts';
import type { Rng } from './prng.ts';
import { TEMPLATES, type ControllerRole, type SensorRole } from './sensor-roles.ts';
import type { SiteContext } from './site-context.ts';
import { assetStatus } from './status.ts';
import { planSensor } from './wired-sensor.ts';

/** How the controller reaches its gateway. */
export type Attachment = 'modbus' | 'mstp' | 'ip';

/** Sensors a controller of each model typically reads (its inputs are the hard limit). */
const SENSOR_COUNT: Record<string, readonly [number, number]> = {
  'ardent-uc-4': [2, 4],
  'kelvo-dc-8': [3, 7],
  'kelvo-dc-16': [5, 12],
};

/**
 * A controller with up to `maxAssets - 1` sensors wired to its inputs, each input configured for
 * its sensor's signal, and control loops from the sensors that drive something to free outputs;
 * undefined when the gateway has no room for it.
 */
export function planController(ctx: SiteContext, gw: GatewayPlan, role: ControllerRole, attach: Attachment, maxAssets: number): PlannedUnit | undefined {
  const { rng } = ctx;
  const template = TEMPLATES[role];
  const model = fitModel(catalogModel(rng.weighted(template.models)), attach);
  const inputs = model.ports.filter((p) => p.type === 'ai' || p.type === 'di');
  const [lo, hi] = SENSOR_COUNT[model.id] ?? [1, inputs.length];
  const roles = pickRoles(template.sensors, inputs, Math.min(maxAssets - 1, rng.int(lo, hi), inputs.length));
  const points = (model.points ?? 1) + roles.length;
  const intervals = rng.chance(0.5) ? [5000, 10000, 15000, 30000] : [10000, 15000, 30000];

  const id = rng.uuid();
  const config: ConfigDoc = {};
  const out: PlannedUnit = { assets: [], cables: [] };
  let port: string | null = null;
  if (attach === 'ip') {
    const intervalMs = intervals.find((i) => gw.canPoll(points, i));
    const ip = intervalMs === undefined ? undefined : ctx.ips.take('device');
    if (intervalMs === undefined || !ip) return undefined;
    gw.attachOnIp(points, intervalMs);
    Object.assign(config, { ip, pollIntervalMs: intervalMs });
  } else {
    const protocol = attach === 'mstp' ? 'bacnet-mstp' : 'modbus-rtu';
    const spec: BusDeviceSpec = { model, protocol, points, intervals, hopM: [10, 60], preferredBus: 1 };
    const placement = gw.placeOnBus(spec);
    if (!placement) return undefined;
    const { address, cable } = gw.attachToBus(placement, spec, id);
    port = placement.bus.port;
    const addressing = attach === 'mstp' ? { mstpMac: address, bacnetInstance: ctx.nextBacnetInstance() } : { unitId: address };
    Object.assign(config, addressing, { serial: { ...placement.bus.serial }, pollIntervalMs: placement.intervalMs });
    out.cables.push(cable);
  }

  const name = ctx.names.next(template.prefix);
  const status = assetStatus(rng);
  const feature = attach === 'ip' ? 'modbus-tcp' : attach === 'mstp' ? 'bacnet-mstp' : 'modbus-rtu';
  const controller: PlannedAsset = { id, kind: 'controller', modelId: model.id, name, serial: ctx.serials.next(model.vendor), status, firmware: chooseFirmware(rng, model, [feature]), parentId: gw.asset.id, port, config };
  out.assets.push(controller);

  const channels: Record<string, { signal: Signal }> = {};
  const wired: Array<{ sensor: PlannedAsset; role: SensorRole }> = [];
  const labels = new Map<string, number>();
  roles.forEach((r, i) => {
    const n = (labels.get(r.label) ?? 0) + 1;
    labels.set(r.label, n);
    const planned = planSensor(ctx, r, controller, inputs[i], n === 1 ? r.label : `${r.label} ${n}`);
    channels[inputs[i].name] = { signal: planned.signal };
    out.assets.push(planned.sensor);
    out.cables.push(planned.cable);
    wired.push({ sensor: planned.sensor, role: r });
  });
  config.channels = channels;
  config.loops = planLoops(rng, model, wired, channels);
  return out;
}

/** The template's model, or one that can make the attachment (Ethernet for IP, MS/TP firmware). */
function fitModel(model: DeviceModel, attach: Attachment): DeviceModel {
  if (attach === 'ip' && !model.ports.some((p) => p.type === 'ethernet')) return catalogModel('kelvo-dc-16');
  if (attach === 'mstp' && !supports(model, 'bacnet-mstp')) return catalogModel('kelvo-dc-8');
  return model;
}

/** `count` sensor roles, cycling through the template and skipping roles no input can read. */
function pickRoles(template: readonly SensorRole[], inputs: PortSpec[], count: number): SensorRole[] {
  const readable = template.filter((r) => r.models.some((id) => canRead(inputs[0], catalogModel(id))));
  return readable.length === 0 ? [] : Array.from({ length: Math.max(0, count) }, (_, i) => readable[i % readable.length]);
}

const canRead = (input: PortSpec | undefined, sensor: DeviceModel) =>
  (sensor.sensor?.outputs ?? []).some((o) => (input?.signals ?? []).some((s) => s === o));

/** A loop for each sensor whose role drives something, on a free output of the wanted kind. */
function planLoops(rng: Rng, model: DeviceModel, wired: Array<{ sensor: PlannedAsset; role: SensorRole }>, channels: Record<string, { signal: Signal }>) {
  const free = (type: 'ao' | 'do') => model.ports.find((p) => p.type === type && !channels[p.name]);
  const names = new Map<string, number>();
  return wired.flatMap(({ sensor, role }) => {
    if (!role.loop) return [];
    const output = free(role.loop.output) ?? free(role.loop.output === 'ao' ? 'do' : 'ao');
    if (!output) return [];
    channels[output.name] = { signal: output.type === 'ao' ? '0-10V' : 'relay' };
    const [lo, hi] = role.loop.setpoint;
    const setpoint = lo + role.loop.step * rng.int(0, Math.floor((hi - lo) / role.loop.step));
    const n = (names.get(role.loop.name) ?? 0) + 1;
    names.set(role.loop.name, n);
    return [{ name: n === 1 ? role.loop.name : `${role.loop.name} ${n}`, inputSensorId: sensor.id, outputChannel: output.name, setpoint }];
  });
}
