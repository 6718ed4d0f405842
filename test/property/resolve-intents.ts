import { randomUUID } from 'node:crypto';
import { builtinCatalog } from '../../src/core/catalog/catalog.ts';
import { defaultConfig } from '../../src/core/catalog/default-config.ts';
import type { DeviceModel, PortSpec } from '../../src/core/catalog/types.ts';
import type { AssetViewData, ConnectionViewData } from '../../src/core/changes/views.ts';
import type { Operation } from '../../src/core/changes/operations.ts';
import type { BusSettings, ChangeSetIntent, Intent, Serial, Stale } from './intent-arbitraries.ts';
import type { SiteGraphView } from './site-api.ts';

/**
 * Resolution of generated intents (intent-arbitraries.ts) into requests: each number picks
 * from what the site holds now or from a small pool of values chosen to collide.
 */

const catalog = builtinCatalog();
const modelsOf = (kind: DeviceModel['kind']) => catalog.models.filter((m) => m.kind === kind);
const GATEWAYS = modelsOf('gateway');
const BUS_DEVICES = { meter: modelsOf('meter'), controller: modelsOf('controller') };
const SENSORS = modelsOf('sensor');
const SIGNALS = ['4-20mA', '0-10V', 'ntc10k', 'pt1000', 'dry-contact', 'relay'];
const POINT = new Set(['ai', 'ao', 'di', 'do']);

/** Small pools on purpose: names, unit ids and IPs collide often. */
const NAMES = { gateway: 'GW', meter: 'M', controller: 'C', sensor: 'S' } as const;
const RENAMES = ['GW-0', 'GW-1', 'M-0', 'M-1', 'm-1', 'M-2 ', 'C-0', 'C-1', 'S-0', 's-1', 'Boiler room'];
const UNIT_IDS = [1, 2, 3, 1, 2, 247];
const IPS = ['10.20.0.10', '10.20.0.11', '10.20.0.12', '10.20.0.13', '10.20.0.10', '10.20.0.1', '10.20.0.255', '10.20.0.0', '10.99.0.5'];
const POLLS = [500, 1000, 2000, 5000, 15000, 60000];
const LENGTHS = [2, 30, 150, 600, 1100];
const SETPOINTS = [-60, 0, 21, 45, 100, 2000, 6000];
const SUBNETS = ['10.20.0.0/24', '10.20.0.0/16', '10.20.0.0/25', '10.30.0.0/24', '10.20.0.7/24'];
const ROUTERS = ['10.20.0.1', '10.20.0.254', '10.30.0.1', '10.20.0.10'];

/** What to send. */
export type WriteRequest =
  | { t: 'changeset'; operations: Operation[] }
  | { t: 'http'; method: 'POST' | 'PATCH' | 'PUT' | 'DELETE'; url: string; body?: unknown; ifMatch?: string };

/** An asset as resolution sees it: stored (with its version) or created earlier in the same change set (version 0). */
interface Known {
  id: string;
  kind: AssetViewData['kind'];
  modelId: string;
  version: number;
  parentId: string | null;
  config: Record<string, unknown>;
  configVersion: number;
}

/**
 * Per-run state that resolution needs beyond the graph: a stable order of entities (ids are
 * random, so "the 3rd asset" must not depend on them) and fresh ids.
 */
export class RunWorld {
  private readonly order = new Map<string, number>();

  constructor(readonly tag: string) {}

  newId(): string {
    const id = randomUUID();
    this.order.set(id, this.order.size);
    return id;
  }

  /**
   * A valid start for every run, so intents find something to act on: a four-bus gateway
   * with a controller on its first bus.
   */
  baseline(): WriteRequest {
    const gw = catalog.get('nexa-gw-400') as DeviceModel;
    const ctl = catalog.get('kelvo-dc-16') as DeviceModel;
    const gatewayId = this.newId();
    const operations: Operation[] = [
      { op: 'createAsset', asset: { id: gatewayId, kind: 'gateway', modelId: gw.id, name: 'Main GW', config: defaultConfig(gw, { name: 'main-gw', ip: '10.20.0.20' }) } },
      {
        op: 'createAsset',
        asset: { id: this.newId(), kind: 'controller', modelId: ctl.id, name: 'Main C', parentId: gatewayId, port: 'rs485-1', config: defaultConfig(ctl, { unitId: 10 }) },
      },
    ];
    return { t: 'changeset', operations };
  }

  sorted<T extends { id: string }>(items: T[]): T[] {
    const rank = (id: string) => this.order.get(id) ?? Number.MAX_SAFE_INTEGER;
    return [...items].sort((a, b) => rank(a.id) - rank(b.id));
  }

  /** Turns an intent into a request against the site as it is now; undefined when nothing fits. */
  resolve(cs: ChangeSetIntent, graph: SiteGraphView): WriteRequest | undefined {
    const assets: Known[] = this.sorted(graph.assets).map((a) => ({ ...a }));
    const cables = this.sorted(graph.connections);
    if (cs.t === 'deployed') {
      // An older version exists only where the configuration moved on; aim there when asked for one.
      const revised = assets.filter((x) => x.configVersion > 1);
      const a = pick(cs.mode === 'older' && revised.length > 0 ? revised : assets, cs.target);
      if (!a) return undefined;
      const configVersion = cs.mode === 'none' ? null : cs.mode === 'current' ? a.configVersion : 1 + (cs.older % a.configVersion);
      return { t: 'http', method: 'PUT', url: `/v1/internal/assets/${a.id}/deployed`, body: { configVersion } };
    }
    const operations = cs.intents.flatMap((intent) => this.operations(intent, assets, cables, graph.site));
    if (operations.length === 0) return undefined;
    if (cs.rest && operations.length === 1) return asHttp(operations[0], graph.site.id);
    return { t: 'changeset', operations };
  }

  private operations(intent: Intent, assets: Known[], cables: ConnectionViewData[], site: SiteGraphView['site']): Operation[] {
    const of = (kinds: string[]) => assets.filter((a) => kinds.includes(a.kind));
    const expected = (entity: { version: number }, s: Stale) => (s === 'fresh' ? entity.version : s === 'ahead' ? entity.version + 1 : Math.max(0, entity.version - 1));
    const update = (a: Known, s: Stale, patch: Extract<Operation, { op: 'updateAsset' }>['patch']): Operation[] => [
      { op: 'updateAsset', id: a.id, expectedVersion: expected(a, s), patch },
    ];
    const create = (asset: Known & { name: string; serial?: string | null; port: string | null }): Operation[] => {
      assets.push(asset);
      const { id, kind, modelId, name, parentId, port, config } = asset;
      return [{ op: 'createAsset', asset: { id, kind, modelId, name, parentId, port, config, ...(asset.serial ? { serial: asset.serial } : {}) } }];
    };

    switch (intent.t) {
      case 'gateway': {
        const model = pick(GATEWAYS, intent.model) as DeviceModel;
        const name = `${NAMES.gateway}-${intent.name % 4}`;
        const serialNo = intent.serialNo === null ? null : `${this.tag}-SN-${intent.serialNo % 3}`;
        return create({ ...blank(this.newId(), 'gateway', model), name, serial: serialNo, port: null, config: gatewayConfig(model, name, intent) });
      }
      case 'busDevice': {
        const model = pick(BUS_DEVICES[intent.kind], intent.model) as DeviceModel;
        const parent = pick(of(['gateway']), intent.parent);
        const onIp = intent.onIp && model.ports.some((p) => p.type === 'ethernet');
        const port = onIp || !parent ? null : portOf(parent, intent.port, intent.anyPort ? undefined : ['rs485']);
        const config = deviceConfig(model, intent, onIp);
        return create({ ...blank(this.newId(), intent.kind, model), name: `${NAMES[intent.kind]}-${intent.name % 6}`, parentId: parent?.id ?? null, port, config });
      }
      case 'sensor': {
        const model = pick(SENSORS, intent.model) as DeviceModel;
        const modbus = model.sensor?.outputs.includes('modbus-rtu') ?? false;
        const parent = pick(of(modbus ? ['gateway', 'controller'] : ['controller']), intent.parent);
        if (!parent) return [];
        const port = portOf(parent, intent.channel, parent.kind === 'gateway' ? ['rs485'] : ['ai', 'di']);
        const config: Record<string, unknown> = { ...defaultConfig(model, { unitId: 1 + (intent.signal % 3) }) };
        const output = pick(model.sensor?.outputs ?? [], intent.signal) ?? '4-20mA';
        config.outputSignal = output;
        if (intent.alarms) config.alarms = { low: intent.alarms[0], high: intent.alarms[1] };
        const ops: Operation[] = [];
        if (parent.kind === 'controller' && port && intent.configure) {
          const signal = intent.matching ? output : (pick(SIGNALS, intent.signal) as string);
          ops.push(...update(parent, 'fresh', { config: { channels: { [port]: { signal } } } }));
        }
        ops.push(...create({ ...blank(this.newId(), 'sensor', model), name: `${NAMES.sensor}-${intent.name % 8}`, parentId: parent.id, port, config }));
        return ops;
      }
      case 'unitId': {
        const a = pick(of(['meter', 'controller', 'sensor']), intent.target);
        return a ? update(a, intent.stale, { config: { unitId: pick(UNIT_IDS, intent.unitId) } }) : [];
      }
      case 'move': {
        const a = pick(assets, intent.target);
        // A gateway has no parent: trying to give it one now and then is enough.
        if (!a || (a.kind === 'gateway' && !intent.anyPort)) return [];
        const parentKinds = a.kind === 'sensor' ? ['controller'] : a.kind === 'gateway' ? ['meter', 'controller', 'gateway'] : ['gateway'];
        const parent = pick(of(parentKinds).filter((p) => p.id !== a.id), intent.parent);
        if (!parent) return [];
        const ethernet = catalog.get(a.modelId)?.ports.some((p) => p.type === 'ethernet');
        const port = a.kind !== 'sensor' && intent.anyPort && ethernet ? null : portOf(parent, intent.port, intent.anyPort ? undefined : a.kind === 'sensor' ? ['ai', 'di'] : ['rs485']);
        return update(a, intent.stale, { parentId: parent.id, port });
      }
      case 'channelSignal': {
        const c = pick(of(['controller']), intent.target);
        const port = c && pick(pointPorts(c), intent.channel);
        if (!c || !port) return [];
        const signal = intent.matching ? pick(port.signals ?? SIGNALS, intent.signal) : pick(SIGNALS, intent.signal);
        return update(c, intent.stale, { config: { channels: { [port.name]: { signal } } } });
      }
      case 'rename': {
        const a = pick(assets, intent.target);
        return a ? update(a, intent.stale, { name: pick(RENAMES, intent.name) }) : [];
      }
      case 'serialSettings': {
        const a = pick(of(['meter', 'controller']), intent.target);
        return a ? update(a, intent.stale, { config: { serial: intent.serial } }) : [];
      }
      case 'busSettings': {
        const g = pick(of(['gateway']), intent.target);
        const port = g && portOf(g, intent.port, ['rs485']);
        return g && port ? update(g, intent.stale, { config: { buses: { [port]: intent.settings } } }) : [];
      }
      case 'status': {
        const a = pick(assets, intent.target);
        return a ? update(a, intent.stale, { status: intent.status }) : [];
      }
      case 'poll': {
        const a = pick(assets, intent.target);
        return a && a.kind !== 'sensor' ? update(a, intent.stale, { config: { pollIntervalMs: pick(POLLS, intent.poll) } }) : [];
      }
      case 'setConfig': {
        const a = pick(assets, intent.target);
        const model = a && catalog.get(a.modelId);
        if (!a || !model) return [];
        let config: Record<string, unknown>;
        if (a.kind === 'gateway') config = gatewayConfig(model, String(a.config.hostname ?? 'gw'), intent);
        else if (a.kind === 'sensor') config = { ...a.config, calibrationOffset: (intent.poll % 5) - 2 };
        else {
          const onIp = intent.onIp && model.ports.some((p) => p.type === 'ethernet');
          config = deviceConfig(model, intent, onIp);
          if (a.kind === 'controller' && intent.keepChannels) Object.assign(config, { channels: a.config.channels, loops: a.config.loops });
        }
        return [{ op: 'setConfig', id: a.id, expectedVersion: expected(a, intent.stale), config }];
      }
      case 'loop': {
        const c = pick(of(['controller']), intent.target);
        if (!c) return [];
        const own = of(['sensor']).filter((x) => x.parentId === c.id);
        const sensor = pick(intent.own && own.length > 0 ? own : of(['sensor']), intent.sensor);
        const output = pick(portsOf(c).filter((p) => !intent.own || p.type === 'ao' || p.type === 'do'), intent.output);
        if (!sensor || !output) return [];
        const loop = { name: `L-${intent.output % 3}`, inputSensorId: sensor.id, outputChannel: output.name, setpoint: pick(SETPOINTS, intent.setpoint) };
        const existing = Array.isArray(c.config.loops) ? c.config.loops : [];
        return update(c, intent.stale, { config: { loops: intent.append ? [...existing, loop] : [loop] } });
      }
      case 'delete': {
        const a = pick(assets, intent.target);
        if (!a) return [];
        const doomed = intent.cascade ? [...descendants(assets, a.id).reverse(), a] : [a];
        const ids = new Set(doomed.map((d) => d.id));
        const cuts = intent.cables ? cables.filter((c) => ids.has(c.a.assetId) || ids.has(c.b.assetId)) : [];
        return [
          ...cuts.map((c): Operation => ({ op: 'disconnect', id: c.id, expectedVersion: c.version })),
          ...doomed.map((d): Operation => ({ op: 'deleteAsset', id: d.id, expectedVersion: d === a ? expected(d, intent.stale) : d.version })),
        ];
      }
      case 'connect': {
        const a = pick(assets, intent.a);
        const b = pick(assets, intent.b);
        if (!a || !b) return [];
        const connectionEnd = cablePort(a, intent.aPort);
        const connection = {
          id: this.newId(),
          a: { assetId: a.id, port: connectionEnd },
          b: { assetId: b.id, port: cablePort(b, intent.bPort, intent.matching ? endType(a, connectionEnd) : undefined) },
          lengthM: pick(LENGTHS, intent.length) as number,
          ...(intent.label === null ? {} : { label: `K-${intent.label % 4}` }),
        };
        return [{ op: 'connect', connection }];
      }
      case 'disconnect': {
        const c = pick(cables, intent.target);
        return c ? [{ op: 'disconnect', id: c.id, expectedVersion: expected(c, intent.stale) }] : [];
      }
      case 'cableLength': {
        const c = pick(cables, intent.target);
        return c ? [{ op: 'updateConnection', id: c.id, expectedVersion: expected(c, intent.stale), patch: { lengthM: pick(LENGTHS, intent.length) } }] : [];
      }
      case 'site': {
        const network = {
          ...(intent.subnet === null ? {} : { subnet: pick(SUBNETS, intent.subnet) }),
          ...(intent.router === null ? {} : { router: pick(ROUTERS, intent.router) }),
        };
        return [{ op: 'updateSite', expectedVersion: expected(site, intent.stale), patch: { name: `Property site ${site.code}`, network } }];
      }
    }
  }
}

function pick<T>(items: readonly T[], n: number): T | undefined {
  return items.length === 0 ? undefined : items[n % items.length];
}

function blank(id: string, kind: Known['kind'], model: DeviceModel): Known {
  return { id, kind, modelId: model.id, version: 0, parentId: null, config: {}, configVersion: 0 };
}

function portsOf(a: Known): PortSpec[] {
  return catalog.get(a.modelId)?.ports ?? [];
}

const pointPorts = (a: Known) => portsOf(a).filter((p) => POINT.has(p.type));

/**
 * A port of the parent, of the given types when asked (every port otherwise: some are wrong on
 * purpose). Half the picks land on the first one, so devices crowd onto one bus or channel.
 */
function portOf(parent: Known, n: number, types?: string[]): string | null {
  const ports = portsOf(parent).filter((p) => !types || types.includes(p.type));
  return pick(ports, n % 2 === 0 ? 0 : n >> 1)?.name ?? null;
}

/** Port types a cable from a port of this type can land on. */
const MATES: Record<string, string[]> = {
  rs485: ['rs485'],
  ethernet: ['ethernet'],
  ai: ['ao', 'do', 'sensor-out'],
  di: ['ao', 'do', 'sensor-out'],
  ao: ['ai', 'di'],
  do: ['ai', 'di'],
  'sensor-out': ['ai', 'di'],
};

function endType(a: Known, port: string): string | undefined {
  if (portsOf(a).length === 0) return port === 'out' ? 'sensor-out' : undefined;
  return portsOf(a).find((p) => p.name === port)?.type;
}

/**
 * A cable end: a port of the model (one that mates with `other` when given, if it has one), a
 * sensor's virtual `out`, now and then a port that does not exist.
 */
function cablePort(a: Known, n: number, other?: string): string {
  const ports = portsOf(a);
  if (ports.length === 0) return n % 7 === 6 ? 'in' : 'out';
  const mates = other === undefined ? [] : ports.filter((p) => MATES[other]?.includes(p.type));
  if (mates.length > 0) return (pick(mates, n) as PortSpec).name;
  return n % 11 === 10 ? 'nope' : (pick(ports, n) as PortSpec).name;
}

function descendants(assets: Known[], rootId: string): Known[] {
  const out: Known[] = [];
  const queue = [rootId];
  while (queue.length > 0) {
    const id = queue.shift() as string;
    for (const child of assets.filter((x) => x.parentId === id && !out.includes(x))) {
      out.push(child);
      queue.push(child.id);
    }
  }
  return out;
}

function gatewayConfig(model: DeviceModel, name: string, g: { ip: number; poll: number; buses: Array<BusSettings | null> }): Record<string, unknown> {
  const base = defaultConfig(model, { name, ip: pick(IPS, g.ip) });
  const rs485 = model.ports.filter((p) => p.type === 'rs485');
  const buses = Object.fromEntries(rs485.flatMap((p, i) => (g.buses[i] ? [[p.name, g.buses[i]]] : [])));
  return { ...base, pollIntervalMs: pick(POLLS, g.poll), buses };
}

function deviceConfig(model: DeviceModel, d: { unitId: number; serial: Serial; poll: number; ip: number }, onIp: boolean): Record<string, unknown> {
  if (onIp) return { ...defaultConfig(model, { ip: pick(IPS, d.ip) }), pollIntervalMs: pick(POLLS, d.poll) };
  return { ...defaultConfig(model, { unitId: pick(UNIT_IDS, d.unitId) }), serial: d.serial, pollIntervalMs: pick(POLLS, d.poll) };
}

/** The single-resource endpoint for one operation, with the If-Match the operation's version implies. */
function asHttp(op: Operation, siteId: string): WriteRequest {
  const assetTag = (id: string, v: number) => `"asset-${id}-v${v}"`;
  switch (op.op) {
    case 'createAsset':
      return { t: 'http', method: 'POST', url: '/v1/assets', body: { siteId, ...op.asset } };
    case 'connect':
      return { t: 'http', method: 'POST', url: '/v1/connections', body: { siteId, ...op.connection } };
    case 'updateAsset':
      return { t: 'http', method: 'PATCH', url: `/v1/assets/${op.id}`, body: op.patch, ifMatch: assetTag(op.id, op.expectedVersion) };
    case 'setConfig':
      return { t: 'http', method: 'PUT', url: `/v1/assets/${op.id}/config`, body: op.config, ifMatch: assetTag(op.id, op.expectedVersion) };
    case 'deleteAsset':
      return { t: 'http', method: 'DELETE', url: `/v1/assets/${op.id}`, ifMatch: assetTag(op.id, op.expectedVersion) };
    case 'disconnect':
      return { t: 'http', method: 'DELETE', url: `/v1/connections/${op.id}`, ifMatch: `"connection-${op.id}-v${op.expectedVersion}"` };
    case 'updateConnection':
      return { t: 'http', method: 'PATCH', url: `/v1/connections/${op.id}`, body: op.patch, ifMatch: `"connection-${op.id}-v${op.expectedVersion}"` };
    case 'updateSite':
      return { t: 'http', method: 'PATCH', url: `/v1/sites/${siteId}`, body: op.patch, ifMatch: `"site-${siteId}-v${op.expectedVersion}"` };
    default:
      return { t: 'changeset', operations: [op] };
  }
}
