import type { BusConfig, SerialSettings } from '../../catalog/config-schemas.ts';
import type { PortSpec } from '../../catalog/types.ts';
import type { Claim } from '../../graph/graph-index.ts';
import type { Asset } from '../../graph/types.ts';
import type { RuleContext } from '../types.ts';
import { isRecord } from './io-config.ts';

/**
 * Shared scoping for the serial-bus rules: which RS-485 buses a change reaches and which
 * devices on them must be re-checked. A bus is one rs485 port of a gateway; the gateway is its
 * master and holds its settings in `config.buses[port]`.
 */
export interface Bus {
  key: string;
  gateway: Asset;
  port: string;
  spec: PortSpec;
  /** The gateway's settings for this bus; undefined when `config.buses` has no entry for it. */
  settings: Partial<BusConfig> | undefined;
}

/** The bus at `port` of `parentId`, if that is an rs485 port of a gateway in the candidate. */
export function busAt(ctx: RuleContext, parentId: string | null, port: string | null): Bus | undefined {
  if (!parentId || !port) return undefined;
  const gateway = ctx.candidate.assets.get(parentId);
  if (!gateway || gateway.kind !== 'gateway') return undefined;
  const spec = ctx.catalog.port(gateway.modelId, port);
  if (!spec || spec.type !== 'rs485') return undefined;
  return { key: `${gateway.id}\u0000${port}`, gateway, port, spec, settings: busSettings(gateway, port) };
}

export function busSettings(gateway: Asset, port: string): Partial<BusConfig> | undefined {
  const buses = gateway.config.buses;
  if (!isRecord(buses)) return undefined;
  const settings = buses[port];
  // Schema-checked before rules run; the cast only widens every field to optional.
  return isRecord(settings) ? (settings as Partial<BusConfig>) : undefined;
}

export function gatewayBuses(ctx: RuleContext, gateway: Asset): Bus[] {
  const ports = ctx.catalog.get(gateway.modelId)?.ports ?? [];
  return ports.flatMap((p) => {
    const bus = p.type === 'rs485' ? busAt(ctx, gateway.id, p.name) : undefined;
    return bus ? [bus] : [];
  });
}

/**
 * Buses a change reaches: the bus of every touched asset's desired placement, and every bus of
 * a touched gateway (its bus settings may have changed under devices nobody else touched).
 */
export function touchedBuses(ctx: RuleContext): Bus[] {
  const out = new Map<string, Bus>();
  for (const id of ctx.touched.assets) {
    const asset = ctx.candidate.assets.get(id);
    if (!asset) continue;
    const buses = asset.kind === 'gateway' ? gatewayBuses(ctx, asset) : [busAt(ctx, asset.parentId, asset.port)];
    for (const bus of buses) if (bus) out.set(bus.key, bus);
  }
  return [...out.values()];
}

/** Devices whose desired placement is on the bus. */
export function devicesOn(ctx: RuleContext, bus: Bus): Asset[] {
  return ctx.index.onPort(bus.gateway.id, bus.port);
}

/**
 * Devices to re-check for per-device bus rules: the touched devices on a bus, and every device
 * on a bus whose gateway was touched. Touched devices come first, so a conflict between a
 * changed and an unchanged device is reported from the changed side.
 */
export function busMembersInScope(ctx: RuleContext): Array<{ device: Asset; bus: Bus }> {
  const out: Array<{ device: Asset; bus: Bus }> = [];
  for (const bus of touchedBuses(ctx)) {
    const gatewayTouched = ctx.touched.assets.has(bus.gateway.id);
    for (const device of devicesOn(ctx, bus)) {
      if (gatewayTouched || ctx.touched.assets.has(device.id)) out.push({ device, bus });
    }
  }
  const touched = (x: { device: Asset }) => Number(ctx.touched.assets.has(x.device.id));
  return out.sort((x, y) => touched(y) - touched(x));
}

/** Desired claims before still-deployed ones: a conflict with both is reported as the desired one. */
export function desiredFirst(claims: Claim[]): Claim[] {
  return [...claims].sort((a, b) => Number(a.source === 'deployed') - Number(b.source === 'deployed'));
}

/** `bus rs485-1 of gateway GW-1` */
export function busLabel(bus: Bus): string {
  return `bus ${bus.port} of gateway ${bus.gateway.name}`;
}

/** Asset ids without repeats, the touched ones (the ones being changed) first. */
export function changedFirst(ctx: RuleContext, ids: string[]): string[] {
  const touched = ids.filter((id) => ctx.touched.assets.has(id));
  return [...new Set([...touched, ...ids])];
}

/** A device's serial settings, if its configuration carries them. */
export function serialOf(config: Record<string, unknown>): Partial<SerialSettings> | undefined {
  return isRecord(config.serial) ? (config.serial as Partial<SerialSettings>) : undefined;
}

/** `19200 baud, even parity, 1 stop bit` */
export function describeSerial(s: Partial<SerialSettings>): string {
  const stop = s.stopBits === undefined ? 'unset' : String(s.stopBits);
  return `${s.baud ?? 'unset'} baud, ${s.parity ?? 'unset'} parity, ${stop} stop bit${s.stopBits === 1 ? '' : 's'}`;
}
