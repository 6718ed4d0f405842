/**
 * One pass over a site graph (assets and cables) builds everything the site screens need:
 * lookups by id, children per parent, cables per asset, the RS-485 chains of every bus and the
 * wiring of every controller channel. Linear in assets + cables, apart from ordering siblings.
 */
import type { Asset, Connection, SiteGraph } from '../api/types.ts';

export interface TreeRow {
  asset: Asset;
  depth: number;
  childCount: number;
}

export interface BusStop {
  asset: Asset;
  /** Length of the cable from the previous stop (the gateway for the first), when cabled. */
  cableM: number | null;
  cableLabel: string | null;
}

export interface Bus {
  gateway: Asset;
  port: string;
  settings: Record<string, unknown> | null;
  stops: BusStop[];
  /** Devices on this port that no cable reaches. */
  uncabled: Asset[];
  totalM: number;
}

export interface ChannelWire {
  channel: string;
  signal: string | null;
  sensor: Asset | null;
  cable: Connection | null;
}

export interface SiteIndex {
  byId: Map<string, Asset>;
  children: Map<string | null, Asset[]>;
  cables: Map<string, Connection[]>;
  gateways: Asset[];
}

const cfg = (a: Asset) => (a.config ?? {}) as Record<string, unknown>;

export function indexSite(graph: SiteGraph): SiteIndex {
  const byId = new Map<string, Asset>();
  const children = new Map<string | null, Asset[]>();
  const cables = new Map<string, Connection[]>();
  for (const a of graph.assets) {
    byId.set(a.id, a);
    const list = children.get(a.parentId ?? null);
    if (list) list.push(a);
    else children.set(a.parentId ?? null, [a]);
  }
  for (const c of graph.connections) {
    for (const end of [c.a.assetId, c.b.assetId]) {
      const list = cables.get(end);
      if (list) list.push(c);
      else cables.set(end, [c]);
    }
  }
  const order = (x: Asset, y: Asset) => (x.port ?? '').localeCompare(y.port ?? '', undefined, { numeric: true }) || x.name.localeCompare(y.name, undefined, { numeric: true });
  for (const list of children.values()) list.sort(order);
  const gateways = (children.get(null) ?? []).filter((a) => a.kind === 'gateway');
  return { byId, children, cables, gateways };
}

/** The tree as rows, depth-first, skipping the subtrees of `collapsed` assets. */
export function treeRows(ix: SiteIndex, collapsed: ReadonlySet<string>, keep?: ReadonlySet<string>): TreeRow[] {
  const rows: TreeRow[] = [];
  const stack: Array<[Asset, number]> = [];
  const roots = ix.children.get(null) ?? [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push([roots[i], 0]);
  while (stack.length) {
    const [a, depth] = stack.pop()!;
    if (keep && !keep.has(a.id)) continue;
    const kids = ix.children.get(a.id) ?? [];
    rows.push({ asset: a, depth, childCount: kids.length });
    if (collapsed.has(a.id) && !keep) continue;
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], depth + 1]);
  }
  return rows;
}

/** The address a person recognises an asset by: unit id, MS/TP MAC, IP. */
export function addressOf(a: Asset): string {
  const c = cfg(a);
  const parts: string[] = [];
  if (typeof c.unitId === 'number') parts.push(`unit ${c.unitId}`);
  if (typeof c.mstpMac === 'number') parts.push(`MAC ${c.mstpMac}`);
  if (typeof c.ip === 'string') parts.push(c.ip);
  return parts.join(' · ');
}

/** Assets matching `q` (name, serial, model, port, address) and every ancestor of a match. */
export function matching(ix: SiteIndex, q: string): Set<string> {
  const needle = q.trim().toLowerCase();
  const out = new Set<string>();
  const unit = /^(?:unit\s*)?(\d{1,3})$/.exec(needle);
  for (const a of ix.byId.values()) {
    const c = cfg(a);
    const hit =
      a.name.toLowerCase().includes(needle) ||
      (a.serial ?? '').toLowerCase().includes(needle) ||
      a.modelId.toLowerCase().includes(needle) ||
      (typeof c.ip === 'string' && c.ip.includes(needle)) ||
      (unit !== null && (c.unitId === Number(unit[1]) || c.mstpMac === Number(unit[1])));
    if (!hit) continue;
    for (let x: Asset | undefined = a; x && !out.has(x.id); x = x.parentId ? ix.byId.get(x.parentId) : undefined) out.add(x.id);
  }
  return out;
}

/** Every bus of a gateway in cable order from the gateway's port along the daisy chain. */
export function busesOf(ix: SiteIndex, gw: Asset, busPorts: string[]): Bus[] {
  const kids = ix.children.get(gw.id) ?? [];
  const buses = (cfg(gw).buses ?? {}) as Record<string, Record<string, unknown>>;
  const ports = [...new Set([...busPorts, ...Object.keys(buses), ...kids.map((k) => k.port).filter((p): p is string => !!p && p.startsWith('rs485'))])];
  return ports.map((port) => {
    const onBus = kids.filter((k) => k.port === port);
    const members = new Set(onBus.map((k) => k.id));
    const seen = new Set<string>();
    const used = new Set<string>();
    const stops: BusStop[] = [];
    // Walk the chain: from the gateway's port, follow each cable to a device on this bus.
    const walk: Array<[string, Connection | null]> = [[gw.id, null]];
    while (walk.length) {
      const [at, via] = walk.pop()!;
      if (at !== gw.id) {
        if (seen.has(at)) continue;
        seen.add(at);
        stops.push({ asset: ix.byId.get(at)!, cableM: via?.lengthM ?? null, cableLabel: via?.label ?? null });
      }
      for (const c of ix.cables.get(at) ?? []) {
        if (used.has(c.id)) continue;
        const mine = c.a.assetId === at ? c.a : c.b;
        const other = c.a.assetId === at ? c.b : c.a;
        if (at === gw.id && mine.port !== port) continue;
        if (!members.has(other.assetId)) continue;
        used.add(c.id);
        walk.push([other.assetId, c]);
      }
    }
    const totalM = stops.reduce((s, x) => s + (x.cableM ?? 0), 0);
    return { gateway: gw, port, settings: buses[port] ?? null, stops, uncabled: onBus.filter((k) => !seen.has(k.id)), totalM };
  });
}

/** A controller's channels: configured signal, the sensor wired there and its cable. */
export function channelsOf(ix: SiteIndex, controller: Asset, channelPorts: string[]): ChannelWire[] {
  const channels = (cfg(controller).channels ?? {}) as Record<string, { signal?: string }>;
  const sensors = (ix.children.get(controller.id) ?? []).filter((k) => k.kind === 'sensor');
  const byPort = new Map(sensors.map((s) => [s.port ?? '', s]));
  const names = [...new Set([...channelPorts, ...Object.keys(channels)])];
  return names.map((channel) => {
    const sensor = byPort.get(channel) ?? null;
    const cable = sensor ? ((ix.cables.get(sensor.id) ?? []).find((c) => (c.a.assetId === controller.id && c.a.port === channel) || (c.b.assetId === controller.id && c.b.port === channel)) ?? null) : null;
    return { channel, signal: channels[channel]?.signal ?? null, sensor, cable };
  });
}
