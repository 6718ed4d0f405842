import type { Asset, Connection } from '../graph/types.ts';
import { SENSOR_OUT_PORT as SENSOR_OUTPUT } from './cable-ports.ts';
import { label } from './lib/io-describe.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'sensor-cable-placement';

/** The other end of a cable from `sensor`'s output. */
function farEnd(c: Connection, sensorId: string): { assetId: string; port: string } | undefined {
  if (c.a.assetId === sensorId && c.a.port === SENSOR_OUTPUT) return c.b;
  if (c.b.assetId === sensorId && c.b.port === SENSOR_OUTPUT) return c.a;
  return undefined;
}

/** Sensors to check: those the change touched, and those at an end of a cable it touched. */
function sensorsInScope(ctx: RuleContext): Asset[] {
  const ids = new Set(ctx.touched.assets);
  for (const id of ctx.touched.connections) {
    const c = ctx.candidate.connections.get(id);
    if (c) ids.add(c.a.assetId).add(c.b.assetId);
  }
  return [...ids].flatMap((id) => {
    const a = ctx.candidate.assets.get(id);
    return a?.kind === 'sensor' ? [a] : [];
  });
}

export const sensorCablePlacement: Rule = {
  id: RULE,
  title: "A wired sensor's cable lands on the channel it is placed on",
  description:
    "A wired sensor is placed on a controller's channel (its parent and port), and its cable runs from the sensor's " +
    'output to a channel. Both say where the sensor is wired, and they must agree: a sensor moved to another channel ' +
    'while its cable stays on the old one leaves that channel looking free to placements while a cable is still ' +
    "landed on its terminals, and the controller reads whatever the cable carries. Move the cable with the sensor — " +
    'delete it and connect the new one in the same change set — or leave the sensor where its cable is. The check ' +
    'runs on the changed sensors and on the sensors at an end of a changed cable.',
  codes: ['CABLE_OFF_PLACEMENT'],
  severity: 'error',
  check(ctx) {
    const out: Violation[] = [];
    for (const sensor of sensorsInScope(ctx)) {
      for (const cable of ctx.index.connectionsOf(sensor.id, SENSOR_OUTPUT)) {
        const end = farEnd(cable, sensor.id);
        if (!end || (end.assetId === sensor.parentId && end.port === sensor.port)) continue;
        const landed = ctx.candidate.assets.get(end.assetId);
        const parent = sensor.parentId ? ctx.candidate.assets.get(sensor.parentId) : undefined;
        const placed = parent && sensor.port ? `on channel ${sensor.port} of ${label(parent)}` : 'on no channel';
        out.push({
          rule: RULE,
          code: 'CABLE_OFF_PLACEMENT',
          message:
            `${label(sensor)} is placed ${placed}, but its cable${cable.label ? ` ${cable.label}` : ''} lands on ` +
            `${end.port} of ${landed ? label(landed) : end.assetId}. Move the cable with the sensor (delete it and connect ` +
            'the new one in the same change set), or place the sensor where its cable is.',
          assetIds: [sensor.id, ...(landed ? [landed.id] : [])],
          severity: 'error',
        });
      }
    }
    return out;
  },
};
