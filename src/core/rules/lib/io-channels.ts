import type { PortSpec } from '../../catalog/types.ts';
import type { Asset } from '../../graph/types.ts';
import type { RuleContext } from '../types.ts';

const POINT_TYPES = new Set(['ai', 'ao', 'di', 'do']);

export const isPointPort = (port: PortSpec | undefined): port is PortSpec =>
  port !== undefined && POINT_TYPES.has(port.type);

/**
 * The controller and channel a sensor is wired to (its desired placement), or undefined when
 * the sensor hangs elsewhere (a Modbus sensor on a gateway bus, or nowhere yet).
 */
export function wiredChannel(ctx: RuleContext, sensor: Asset): { controller: Asset; port: PortSpec } | undefined {
  if (sensor.kind !== 'sensor' || sensor.port === null) return undefined;
  const controller = ctx.index.asset(sensor.parentId);
  if (!controller || controller.kind !== 'controller') return undefined;
  const port = ctx.catalog.port(controller.modelId, sensor.port);
  return isPointPort(port) ? { controller, port } : undefined;
}

/** One JSON Pointer segment (RFC 6901): `~` and `/` are escaped. */
export const pointerSegment = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** Whether a point port can be configured for `signal` (false for a missing or non-point port). */
export function supportsSignal(port: PortSpec | undefined, signal: string): boolean {
  return isPointPort(port) && (port.signals ?? []).some((s) => s === signal);
}
