import type { PortSpec, Signal } from '../core/catalog/types.ts';
import { SENSOR_OUT_PORT } from '../core/rules/cable-ports.ts';
import { catalogModel } from './catalog-model.ts';
import { chooseFirmware } from './firmware-choice.ts';
import type { PlannedAsset, PlannedCable } from './plan-types.ts';
import type { SensorRole } from './sensor-roles.ts';
import type { SiteContext } from './site-context.ts';

/** Passive elements (a thermistor, a reed contact) carry no electronics, so no serial or firmware. */
const PASSIVE = new Set(['thermia-ntc-room', 'thermia-pt1000-duct', 'contacta-door-1']);

/**
 * A sensor in `role` wired to `input` of `controller`: the first candidate model whose output
 * the input can read, configured in the model's unit with the role's range and alarms, and the
 * cable from its output to the input.
 */
export function planSensor(ctx: SiteContext, role: SensorRole, controller: PlannedAsset, input: PortSpec, label: string): { sensor: PlannedAsset; signal: Signal; cable: PlannedCable } {
  const { rng } = ctx;
  const candidates = role.models.map(catalogModel);
  const model = candidates.find((m) => readable(m.sensor?.outputs ?? [], input).length > 0);
  const spec = model?.sensor;
  if (!model || !spec) throw new Error(`seed planner: no ${role.label} sensor fits input ${input.name} of ${controller.modelId}`);
  const signal = rng.pick(readable(spec.outputs, input));
  const passive = PASSIVE.has(model.id);
  const sensor: PlannedAsset = {
    id: rng.uuid(),
    kind: 'sensor',
    modelId: model.id,
    name: `${controller.name} ${label}`,
    serial: passive ? null : ctx.serials.next(model.vendor),
    status: controller.status,
    firmware: passive ? null : chooseFirmware(rng, model, []),
    parentId: controller.id,
    port: input.name,
    config: {
      outputSignal: signal,
      unit: spec.unit,
      range: { ...(role.range ?? spec.range) },
      calibrationOffset: rng.pick(role.offsets ?? [0]),
      ...(role.alarms ? { alarms: { ...role.alarms } } : {}),
    },
  };
  const cable: PlannedCable = {
    id: rng.uuid(),
    a: { assetId: sensor.id, port: SENSOR_OUT_PORT },
    b: { assetId: controller.id, port: input.name },
    label: `${controller.name} ${input.name}`,
    lengthM: Math.round(rng.float(role.cableM[0], role.cableM[1]) * 2) / 2,
  };
  return { sensor, signal, cable };
}

/** The sensor outputs the input can be configured to read. */
function readable(outputs: ReadonlyArray<Signal | 'modbus-rtu'>, input: PortSpec): Signal[] {
  return outputs.filter((o): o is Signal => (input.signals ?? []).some((s) => s === o));
}
