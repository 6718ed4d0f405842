import type { Asset } from '../graph/types.ts';
import { alarmsOf, loopsOf, rangeOf, stringOf, type LoopView } from './lib/io-config.ts';
import { label } from './lib/io-describe.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'setpoints-in-range';

interface Span {
  min: number;
  max: number;
}

/** The sensor's configured range when it is usable for comparisons (both ends set, min < max). */
function configuredSpan(sensor: Asset): Span | undefined {
  const r = rangeOf(sensor.config);
  if (r?.min === undefined || r.max === undefined || r.min >= r.max) return undefined;
  return { min: r.min, max: r.max };
}

const fmt = (s: Span, unit: string | undefined) => `${s.min}…${s.max}${unit ? ` ${unit}` : ''}`;

function checkSensor(ctx: RuleContext, sensor: Asset): Violation[] {
  const out: Violation[] = [];
  const push = (code: string, path: string, message: string) =>
    out.push({ rule: RULE, code, message, assetIds: [sensor.id], path, severity: 'error' });
  const spec = ctx.catalog.get(sensor.modelId)?.sensor;
  const unit = stringOf(sensor.config.unit);
  const who = label(sensor);
  if (spec && unit !== undefined && unit !== spec.unit) {
    push('UNIT_MISMATCH', '/unit', `${who} is configured in ${unit}, but its model ${sensor.modelId} measures in ${spec.unit}; every value, range and alarm would be read in the wrong unit. Set unit to ${spec.unit}.`);
  }
  const r = rangeOf(sensor.config);
  if (r?.min !== undefined && r.max !== undefined && r.min >= r.max) {
    push('RANGE_INVERTED', '/range', `${who} has range min ${r.min} ≥ max ${r.max}; the scaling from signal to value would be inverted or divide by zero. Set min below max.`);
  }
  const span = configuredSpan(sensor);
  // Comparing with the model's range only makes sense in the model's unit.
  if (spec && span && (unit === undefined || unit === spec.unit)) {
    const phys = fmt(spec.range, spec.unit);
    if (span.min < spec.range.min) {
      push('RANGE_OUTSIDE_SENSOR', '/range/min', `${who} has range min ${span.min}, below what the ${sensor.modelId} can measure (${phys}); readings there would be clipped or scaled wrongly. Set min to ${spec.range.min} or above.`);
    }
    if (span.max > spec.range.max) {
      push('RANGE_OUTSIDE_SENSOR', '/range/max', `${who} has range max ${span.max}, above what the ${sensor.modelId} can measure (${phys}); readings there would be clipped or scaled wrongly. Set max to ${spec.range.max} or below.`);
    }
  }
  const { low, high } = alarmsOf(sensor.config);
  if (span) {
    for (const [name, value] of [['low', low], ['high', high]] as const) {
      if (value === undefined || (value >= span.min && value <= span.max)) continue;
      push('ALARM_OUT_OF_RANGE', `/alarms/${name}`, `${who} has alarm ${name} ${value}, outside its configured range ${fmt(span, unit)}; the sensor can never report that value, so the alarm would never fire. Set it within the range.`);
    }
  }
  if (low !== undefined && high !== undefined && low >= high) {
    push('ALARM_INVERTED', '/alarms', `${who} has alarm low ${low} ≥ alarm high ${high}; one of the two would always be active. Set low below high.`);
  }
  return out;
}

/** A loop setpoint outside its input sensor's configured range, the controller or the sensor first. */
function setpointViolation(controller: Asset, sensor: Asset, loop: LoopView, controllerChanged: boolean): Violation | undefined {
  const span = configuredSpan(sensor);
  const sp = loop.setpoint;
  if (!span || sp === undefined || (sp >= span.min && sp <= span.max)) return undefined;
  const unit = stringOf(sensor.config.unit);
  return {
    rule: RULE,
    code: 'SETPOINT_OUT_OF_RANGE',
    message:
      `Control loop "${loop.name}" of ${label(controller)} has setpoint ${sp}, outside the configured range ${fmt(span, unit)} of its input ${label(sensor)}; ` +
      'the measurement can never reach it, so the loop would drive its output to the limit. Choose a setpoint within the range, or widen the range if the sensor can measure it.',
    assetIds: controllerChanged ? [controller.id, sensor.id] : [sensor.id, controller.id],
    path: controllerChanged ? `/loops/${loop.index}/setpoint` : '/range',
    severity: 'error',
  };
}

export const setpointsInRange: Rule = {
  id: RULE,
  title: 'Ranges, alarms and setpoints inside the sensor range and unit',
  description:
    "A sensor's configured range (the values its signal is scaled to) must lie within what its model can physically " +
    'measure and have min below max; its alarm thresholds must lie inside the configured range with low below high; and ' +
    'its unit must be the unit of its model (the catalog range is given in that unit). A control loop\'s setpoint must ' +
    "lie inside the configured range of its input sensor. A range wider than the element scales a 4–20 mA or 0–10 V " +
    'signal onto values the sensor never produces; an alarm or setpoint outside the range can never be reached, so the ' +
    'alarm never fires and the loop drives its output to the end stop. The check runs on changed sensors (and the loops ' +
    'of their controller that use them) and on every loop of a changed controller.',
  codes: ['RANGE_OUTSIDE_SENSOR', 'RANGE_INVERTED', 'ALARM_OUT_OF_RANGE', 'ALARM_INVERTED', 'UNIT_MISMATCH', 'SETPOINT_OUT_OF_RANGE'],
  severity: 'error',
  check(ctx) {
    const out: Violation[] = [];
    const touched = [...ctx.touched.assets].flatMap((id) => ctx.candidate.assets.get(id) ?? []);
    for (const asset of touched) {
      if (asset.kind === 'sensor') out.push(...checkSensor(ctx, asset));
      if (asset.kind !== 'controller') continue;
      for (const loop of loopsOf(asset.config)) {
        const sensor = ctx.index.asset(loop.inputSensorId ?? null);
        const v = sensor?.kind === 'sensor' ? setpointViolation(asset, sensor, loop, true) : undefined;
        if (v) out.push(v);
      }
    }
    for (const sensor of touched) {
      const controller = sensor.kind === 'sensor' ? ctx.index.asset(sensor.parentId) : undefined;
      // A changed controller's loops were all checked above.
      if (controller?.kind !== 'controller' || ctx.touched.assets.has(controller.id)) continue;
      for (const loop of loopsOf(controller.config)) {
        if (loop.inputSensorId !== sensor.id) continue;
        const v = setpointViolation(controller, sensor, loop, false);
        if (v) out.push(v);
      }
    }
    return out;
  },
};
