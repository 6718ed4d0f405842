import type { PortSpec, PortType } from '../catalog/types.ts';
import type { Asset, Connection } from '../graph/types.ts';
import { modelName } from './lib/gw-tree.ts';
import { label } from './lib/io-describe.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'cable-ports';

/**
 * Wired sensors have no ports in the catalog: their two leads are one point output. A cable to
 * such a sensor ends on this virtual port.
 */
export const SENSOR_OUT_PORT = 'out';

/** A port as a cable sees it: a catalog port, or a wired sensor's virtual output. */
interface End {
  asset: Asset;
  port: string;
  type: PortType | 'sensor-out';
  /** Cables the port takes. */
  limit: number;
  /** `a` or `b`: which end of the connection, for the JSON Pointer. */
  side: 'a' | 'b';
}

/** Point outputs drive a signal, point inputs read one: a point cable joins one of each. */
const SOURCES = new Set<End['type']>(['ao', 'do', 'sensor-out']);
const SINKS = new Set<End['type']>(['ai', 'di']);

export const cablePorts: Rule = {
  id: RULE,
  title: 'Cables on existing, compatible, free ports',
  description:
    'Each end of a cable must name a port that exists on that asset\'s model. Wired sensors have no ports in the ' +
    'catalog, so a cable to one ends on its virtual output port `out`. Both ends must be of compatible kinds: ' +
    'RS-485 to RS-485 (A/B/ground of one bus), Ethernet to Ethernet, and a point cable joins a signal source (an ' +
    'analog or relay output, a sensor\'s output) to an input (ai/di) — an RS-485 pair landed on an analog input, or ' +
    'two outputs driving each other, is a wiring fault. A point port (ai/ao/di/do, a sensor output) and an ' +
    'Ethernet port take one cable each. An RS-485 port takes cables up to its capacity in the catalog, and at least ' +
    'two, because a device on a daisy-chained segment has the bus coming in and going out on its terminals (the ' +
    'catalog\'s rs485 capacity counts unit loads, which is 1 for a device\'s own port). Whether the segment is a ' +
    'proper daisy chain, and its total length, are checked by the bus rules. The check runs on the changed cables ' +
    'and the cables of changed assets.',
  codes: ['CABLE_PORT_UNKNOWN', 'PORT_CAPACITY_EXCEEDED', 'CABLE_PORT_MISMATCH'],
  severity: 'error',
  check(ctx) {
    const inScope = new Map<string, Connection>();
    for (const id of ctx.touched.connections) {
      const c = ctx.candidate.connections.get(id);
      if (c) inScope.set(c.id, c);
    }
    for (const id of ctx.touched.assets) for (const c of ctx.index.connectionsOf(id)) inScope.set(c.id, c);

    const out: Violation[] = [];
    const ports = new Map<string, End>();
    for (const c of inScope.values()) {
      const ends = (['a', 'b'] as const).map((side) => endOf(ctx, c, side));
      for (const [i, end] of ends.entries()) {
        if (end === 'unknown') out.push(unknownPort(ctx, c, i === 0 ? 'a' : 'b'));
        else if (end) ports.set(`${end.asset.id}\u0000${end.port}`, end);
      }
      const [a, b] = ends;
      if (a && b && a !== 'unknown' && b !== 'unknown' && !compatible(a, b)) out.push(mismatch(c, a, b));
    }
    for (const end of ports.values()) {
      const cables = ctx.index.connectionsOf(end.asset.id, end.port);
      if (cables.length > end.limit) out.push(overfull(ctx, end, cables));
    }
    return out;
  },
};

/** The port at one end; `unknown` when the model has no such port; undefined when it cannot be judged. */
function endOf(ctx: RuleContext, c: Connection, side: 'a' | 'b'): End | 'unknown' | undefined {
  const { assetId, port } = c[side];
  const asset = ctx.candidate.assets.get(assetId);
  const model = asset && ctx.catalog.get(asset.modelId);
  // A missing asset is same-site's to report, an unknown model the catalog's.
  if (!asset || !model) return undefined;
  if (asset.kind === 'sensor' && model.ports.length === 0) {
    return port === SENSOR_OUT_PORT ? { asset, port, type: 'sensor-out', limit: 1, side } : 'unknown';
  }
  const spec = ctx.catalog.port(model.id, port);
  return spec ? { asset, port, type: spec.type, limit: limitOf(spec), side } : 'unknown';
}

function limitOf(spec: PortSpec): number {
  return spec.type === 'rs485' ? Math.max(spec.capacity, 2) : 1;
}

function compatible(a: End, b: End): boolean {
  if (a.asset.id === b.asset.id && a.port === b.port) return false;
  if (a.type === 'rs485' || a.type === 'ethernet') return a.type === b.type;
  return (SOURCES.has(a.type) && SINKS.has(b.type)) || (SINKS.has(a.type) && SOURCES.has(b.type));
}

function unknownPort(ctx: RuleContext, c: Connection, side: 'a' | 'b'): Violation {
  const end = c[side];
  const far = c[side === 'a' ? 'b' : 'a'];
  const asset = ctx.candidate.assets.get(end.assetId) as Asset;
  const model = ctx.catalog.get(asset.modelId);
  const names = model && model.ports.length > 0 ? model.ports.map((p) => p.name) : [SENSOR_OUT_PORT];
  const shown = names.length > 8 ? `${names.slice(0, 8).join(', ')}, …` : names.join(', ');
  return {
    rule: RULE,
    code: 'CABLE_PORT_UNKNOWN',
    message:
      `${cableName(c)} ends on port "${end.port}" of ${label(asset)}, but its model (${modelName(ctx, asset.modelId)}) ` +
      `has no such port. Use one of its ports: ${shown}.`,
    assetIds: [...new Set([end.assetId, far.assetId])],
    path: `/${side}/port`,
    severity: 'error',
  };
}

function mismatch(c: Connection, a: End, b: End): Violation {
  const what = (e: End) => `${e.type === 'sensor-out' ? 'sensor output' : e.type} port ${e.port} of ${label(e.asset)}`;
  const why =
    a.asset.id === b.asset.id && a.port === b.port
      ? 'a cable cannot loop a port back onto itself'
      : a.type === 'rs485' || a.type === 'ethernet' || b.type === 'rs485' || b.type === 'ethernet'
        ? 'RS-485 joins only RS-485 and Ethernet only Ethernet'
        : 'a point cable joins an output (ao, do, a sensor) to an input (ai, di)';
  return {
    rule: RULE,
    code: 'CABLE_PORT_MISMATCH',
    message: `${cableName(c)} joins ${what(a)} to ${what(b)}: ${why}. Land it on a matching port.`,
    assetIds: [...new Set([a.asset.id, b.asset.id])],
    severity: 'error',
  };
}

function overfull(ctx: RuleContext, end: End, cables: Connection[]): Violation {
  const others = cables.flatMap((c) => [c.a.assetId, c.b.assetId]).filter((id) => id !== end.asset.id);
  const far = others.map((id) => ctx.candidate.assets.get(id)).map((a) => (a ? a.name : 'an unknown asset'));
  const kind = end.type === 'rs485' ? 'RS-485 port' : end.type === 'ethernet' ? 'Ethernet port' : 'point port';
  return {
    rule: RULE,
    code: 'PORT_CAPACITY_EXCEEDED',
    message:
      `${end.port} of ${label(end.asset)} has ${cables.length} cables (to ${far.join(', ')}), but this ${kind} takes ` +
      `${end.limit}. Move ${cables.length - end.limit === 1 ? 'a cable' : 'cables'} to a free port` +
      `${end.type === 'ethernet' ? ' or through a network switch' : ''}.`,
    assetIds: [...new Set([end.asset.id, ...others])],
    severity: 'error',
  };
}

/** `cable "K-12"`, or `a cable` when it has no label. */
const cableName = (c: Connection) => (c.label ? `cable "${c.label}"` : 'a cable');
