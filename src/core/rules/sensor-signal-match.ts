import type { PortSpec } from '../catalog/types.ts';
import type { Asset } from '../graph/types.ts';
import { isPointPort, pointerSegment, supportsSignal, wiredChannel } from './lib/io-channels.ts';
import { channelSignal, configuredChannels, stringOf } from './lib/io-config.ts';
import { label } from './lib/io-describe.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'sensor-signal-match';

const channelPath = (port: string) => `/channels/${pointerSegment(port)}`;

class Findings {
  readonly out: Violation[] = [];
  private readonly keys = new Set<string>();

  add(key: string, v: Omit<Violation, 'rule' | 'severity'>) {
    if (this.keys.has(key)) return;
    this.keys.add(key);
    this.out.push({ rule: RULE, severity: 'error', ...v });
  }
}

/** A channel configured for a signal its terminals cannot take (or a channel the model lacks). */
function unsupported(controller: Asset, portName: string, signal: string, port: PortSpec | undefined): string {
  if (!isPointPort(port)) {
    return `${label(controller)} configures channel ${portName} for ${signal}, but its model ${controller.modelId} has no such I/O channel. Remove the entry or use an existing channel.`;
  }
  return `Channel ${portName} of ${label(controller)} is configured for ${signal}, which the ${controller.modelId} hardware cannot do on that channel (it supports ${(port.signals ?? []).join(', ') || 'no signal'}). Configure it for one of those.`;
}

/** The wiring of one sensor to one channel; `sensorChanged` decides whose document comes first. */
function checkWiring(ctx: RuleContext, f: Findings, sensor: Asset, controller: Asset, port: PortSpec, sensorChanged: boolean) {
  const assetIds = sensorChanged ? [sensor.id, controller.id] : [controller.id, sensor.id];
  const key = `${controller.id}|${port.name}|${sensor.id}`;
  const signal = channelSignal(controller.config, port.name);
  const output = stringOf(sensor.config.outputSignal);
  if (signal === undefined) {
    f.add(key, {
      code: 'CHANNEL_NOT_CONFIGURED',
      message:
        `${label(sensor)} is wired to channel ${port.name} of ${label(controller)}, which has no signal type configured, so the input is not read. ` +
        `Set channels.${port.name}.signal on ${controller.name}${output ? ` to ${output}` : ''}.`,
      assetIds,
      ...(sensorChanged ? {} : { path: channelPath(port.name) }),
    });
    return;
  }
  if (!supportsSignal(port, signal)) {
    // A controller fault; reported once from the controller's side when it is part of the change.
    if (ctx.touched.assets.has(controller.id)) return;
    f.add(`unsupported|${controller.id}|${port.name}`, {
      code: 'CHANNEL_SIGNAL_UNSUPPORTED',
      message: `${sensor.name} cannot be read: ${unsupported(controller, port.name, signal, port)}`,
      assetIds,
    });
    return;
  }
  if (output === undefined || output === signal) return;
  const fix = supportsSignal(port, output)
    ? `Configure channel ${port.name} for ${output}, or wire ${sensor.name} to a channel configured for ${output}.`
    : `Channel ${port.name} cannot take ${output} at all; wire ${sensor.name} to a channel that supports it.`;
  f.add(key, {
    code: 'SIGNAL_MISMATCH',
    message: `${label(sensor)} outputs ${output} but channel ${port.name} of ${label(controller)} is configured for ${signal}; the input would read nonsense or nothing. ${fix}`,
    assetIds,
    path: sensorChanged ? '/outputSignal' : `${channelPath(port.name)}/signal`,
  });
}

function checkController(ctx: RuleContext, f: Findings, controller: Asset) {
  for (const { port: portName, signal } of configuredChannels(controller.config)) {
    const port = ctx.catalog.port(controller.modelId, portName);
    if (supportsSignal(port, signal)) continue;
    const wired = ctx.index.onPort(controller.id, portName).filter((a) => a.kind === 'sensor');
    f.add(`unsupported|${controller.id}|${portName}`, {
      code: 'CHANNEL_SIGNAL_UNSUPPORTED',
      message: unsupported(controller, portName, signal, port),
      assetIds: [controller.id, ...wired.map((a) => a.id)],
      path: `${channelPath(portName)}/signal`,
    });
  }
  for (const port of ctx.catalog.get(controller.modelId)?.ports ?? []) {
    if (!isPointPort(port)) continue;
    for (const sensor of ctx.index.onPort(controller.id, port.name)) {
      if (sensor.kind === 'sensor') checkWiring(ctx, f, sensor, controller, port, false);
    }
  }
}

export const sensorSignalMatch: Rule = {
  id: RULE,
  title: 'Sensor signal matches its channel',
  description:
    "A sensor wired to a controller channel must output the signal the channel is configured for " +
    '(`channels.<port>.signal` in the controller configuration), and the channel must be configured for a signal its ' +
    'hardware supports. 4–20 mA current loops, 0–10 V voltage outputs, NTC 10k and PT1000 resistance elements and dry ' +
    'contacts are read by different input circuits: a current loop on a voltage input has no burden resistor to turn ' +
    'its current into a reading, a 0–10 V output on a current input is shorted by the burden, a PT1000 (about 1.1 kΩ ' +
    'at room temperature) on an NTC 10k input reads as roughly 85–95 °C, and a channel with no ' +
    'signal configured is not read at all. The check runs on the changed sensors and on every channel and wired ' +
    "sensor of a changed controller, so changing a channel's signal flags the sensor on it.",
  codes: ['SIGNAL_MISMATCH', 'CHANNEL_NOT_CONFIGURED', 'CHANNEL_SIGNAL_UNSUPPORTED'],
  severity: 'error',
  check(ctx) {
    const f = new Findings();
    const touched = [...ctx.touched.assets].flatMap((id) => ctx.candidate.assets.get(id) ?? []);
    for (const sensor of touched) {
      const wired = wiredChannel(ctx, sensor);
      if (wired) checkWiring(ctx, f, sensor, wired.controller, wired.port, true);
    }
    for (const controller of touched) {
      if (controller.kind === 'controller') checkController(ctx, f, controller);
    }
    return f.out;
  },
};
