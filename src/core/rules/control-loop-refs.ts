import type { Asset } from '../graph/types.ts';
import { loopsOf, type LoopView } from './lib/io-config.ts';
import { label } from './lib/io-describe.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'control-loop-refs';
const OUTPUT_TYPES = new Set(['ao', 'do']);

/** Why a loop's input is not a sensor on its own controller, or undefined when it is. */
function inputProblem(ctx: RuleContext, controller: Asset, loop: LoopView): { why: string; sensor?: string } | undefined {
  const id = loop.inputSensorId;
  if (id === undefined) return { why: 'names no input sensor' };
  const sensor = ctx.candidate.assets.get(id);
  if (!sensor) {
    const gone = ctx.removed.get(id);
    if (gone) return { why: `uses ${label(gone)}, which this change deletes`, sensor: id };
    return { why: `uses asset ${id}, which does not exist in this site` };
  }
  if (sensor.kind !== 'sensor') return { why: `uses ${label(sensor)}, which is not a sensor`, sensor: id };
  if (sensor.parentId === controller.id) return undefined;
  const parent = ctx.index.asset(sensor.parentId);
  const where = parent ? `wired to ${label(parent)}` : 'not wired to any controller';
  return { why: `uses ${label(sensor)}, which is ${where}`, sensor: id };
}

/**
 * The input of one loop. `controllerChanged` says whose document the finding belongs to: the
 * controller's loop (with a path) or the sensor that was moved or deleted under it.
 */
function checkInput(ctx: RuleContext, controller: Asset, loop: LoopView, controllerChanged: boolean): Violation | undefined {
  const problem = inputProblem(ctx, controller, loop);
  if (!problem) return undefined;
  const other = problem.sensor ? [problem.sensor] : [];
  return {
    rule: RULE,
    code: 'LOOP_SENSOR_NOT_WIRED',
    message:
      `Control loop "${loop.name}" of ${label(controller)} ${problem.why}. A loop can only act on a measurement its own controller reads: ` +
      `wire the sensor to one of ${controller.name}'s input channels, or point the loop at a sensor that is.`,
    assetIds: controllerChanged ? [controller.id, ...other] : [...other, controller.id],
    ...(controllerChanged ? { path: `/loops/${loop.index}/inputSensorId` } : {}),
    severity: 'error',
  };
}

function checkOutputs(ctx: RuleContext, controller: Asset, loops: LoopView[]): Violation[] {
  const out: Violation[] = [];
  const outputs = (ctx.catalog.get(controller.modelId)?.ports ?? []).filter((p) => OUTPUT_TYPES.has(p.type));
  const firstOn = new Map<string, LoopView>();
  for (const loop of loops) {
    const name = loop.outputChannel;
    const port = name === undefined ? undefined : ctx.catalog.port(controller.modelId, name);
    const base = { rule: RULE, assetIds: [controller.id], path: `/loops/${loop.index}/outputChannel`, severity: 'error' as const };
    if (name === undefined || !port || !OUTPUT_TYPES.has(port.type)) {
      const what = name === undefined ? 'names no output channel' : !port ? `drives ${name}, which the ${controller.modelId} does not have` : `drives ${name}, which is an input (${port.type}), not an output`;
      out.push({
        ...base,
        code: 'LOOP_OUTPUT_MISSING',
        message: `Control loop "${loop.name}" of ${label(controller)} ${what}. Choose one of its outputs: ${outputs.map((p) => p.name).join(', ') || 'none'}.`,
      });
      continue;
    }
    const first = firstOn.get(name);
    if (!first) {
      firstOn.set(name, loop);
      continue;
    }
    out.push({
      ...base,
      code: 'LOOP_OUTPUT_SHARED',
      message: `Control loops "${first.name}" and "${loop.name}" of ${label(controller)} both drive output ${name}; the two would fight over the actuator. Give "${loop.name}" its own output.`,
    });
  }
  return out;
}

/** Sensors the change moved or deleted, with the controller they hung on before. */
function movedSensors(ctx: RuleContext): Array<{ sensorId: string; controller: Asset }> {
  const ids = new Set([...ctx.touched.assets, ...ctx.removed.keys()]);
  return [...ids].flatMap((id) => {
    const was = ctx.before.assets.get(id);
    if (was?.kind !== 'sensor' || ctx.touched.assets.has(was.parentId ?? '')) return [];
    const controller = ctx.index.asset(was.parentId);
    return controller?.kind === 'controller' ? [{ sensorId: id, controller }] : [];
  });
}

export const controlLoopRefs: Rule = {
  id: RULE,
  title: 'Control loops reference their own sensor and an existing output',
  description:
    "Each control loop of a controller (`loops[]` in its configuration) reads an input sensor and drives an output " +
    'channel. The input must be a sensor wired to the same controller: a controller only reads its own channels, so a ' +
    'loop on a sensor wired elsewhere (or deleted) runs on a stale or missing value and drives its actuator blind. The ' +
    "output must be an analog or digital output (`ao`/`do`) that exists on the controller's model, and no two loops may " +
    'drive the same output, or they fight over the actuator. The check runs on every loop of a changed controller, and ' +
    'on the loops of the controller a changed or deleted sensor was wired to before the change.',
  codes: ['LOOP_SENSOR_NOT_WIRED', 'LOOP_OUTPUT_MISSING', 'LOOP_OUTPUT_SHARED'],
  severity: 'error',
  check(ctx) {
    const out: Violation[] = [];
    for (const id of ctx.touched.assets) {
      const controller = ctx.candidate.assets.get(id);
      if (controller?.kind !== 'controller') continue;
      const loops = loopsOf(controller.config);
      for (const loop of loops) {
        const v = checkInput(ctx, controller, loop, true);
        if (v) out.push(v);
      }
      out.push(...checkOutputs(ctx, controller, loops));
    }
    for (const { sensorId, controller } of movedSensors(ctx)) {
      for (const loop of loopsOf(controller.config)) {
        if (loop.inputSensorId !== sensorId) continue;
        const v = checkInput(ctx, controller, loop, false);
        if (v) out.push(v);
      }
    }
    return out;
  },
};
