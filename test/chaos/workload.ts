/**
 * The racing writers: clients that hammer a few sites through every instance with writes that
 * collide on purpose — the same unit ids on one bus, the same controller channels, the same IPs,
 * names and fleet-wide serials; updates with whatever version the client last read (often
 * stale); deletes of gateways and controllers while others create things under them; change
 * sets that swap unit ids or remove a controller with everything on it.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AssetViewData as Asset, ConnectionViewData as Connection } from '../../src/core/changes/views.ts';
import { controllerConfig, gatewayConfig, ipMeterConfig, meterConfig, NETWORK, sensorConfig } from '../api/helpers.ts';
import type { Graph } from './oracle.ts';
import type { Exchange, Method, Recorder, SendOptions } from './recorder.ts';

export interface Target {
  name: string;
  url: string;
}

/** Picks the instance for the next request (a load balancer that skips instances known to be down). */
export type Balancer = () => Target;

/** A small deterministic PRNG (mulberry32), so a run's mix can be reproduced by its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Small pools on purpose: everything collides.
const METER_NAMES = ['M-1', 'M-2', 'M-3', 'M-4', 'M-5', 'M-6', 'm-7', 'M-8'];
const UNIT_IDS = [1, 2, 3, 4, 5, 6];
const IP_METER_NAMES = ['P-1', 'P-2', 'P-3'];
const IPS = ['10.20.0.20', '10.20.0.21', '10.20.0.22', '10.20.0.10', '10.20.0.11'];
const SENSOR_NAMES = ['T-1', 'T-2', 'T-3', 'T-4', 'T-5', 't-6'];
const CHANNELS = ['ui-1', 'ui-2', 'ui-3', 'ui-4'];
const SERIALS = [null, null, null, 'CHAOS-SER-1', 'CHAOS-SER-2', 'CHAOS-SER-3'];
const LENGTHS = [5, 30, 120, 400, 700];
const POLLS = [1000, 5000, 15000, 30000];

/** A site's baseline, in one change set: a gateway, meters on rs485-1, a controller on rs485-2, sensors on its inputs, cables. */
export async function createRaceSite(rec: Recorder, target: Target, code: string): Promise<Graph> {
  const site = await rec.send<Graph['site']>(target, 0, 'POST', '/v1/sites', { body: { code, name: `Chaos ${code}`, timezone: 'Europe/Berlin', network: NETWORK } });
  if (site.outcome !== 201) throw new Error(`create site ${code}: ${site.outcome} ${site.text}`);
  const siteId = (site.response as Graph['site']).id;
  const gw = randomUUID();
  const ctl = randomUUID();
  const meters = [1, 2, 3].map(() => randomUUID());
  const sensors = [1, 2].map(() => randomUUID());
  const ops: object[] = [
    { op: 'createAsset', asset: { id: gw, kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-1', config: gatewayConfig('10.20.0.10', `gw-${code.toLowerCase()}`) } },
    { op: 'createAsset', asset: { id: ctl, kind: 'controller', modelId: 'kelvo-dc-8', name: 'C-1', parentId: gw, port: 'rs485-2', config: controllerConfig(10) } },
    { op: 'connect', connection: { a: { assetId: gw, port: 'rs485-2' }, b: { assetId: ctl, port: 'com' }, label: 'K-C1', lengthM: 20 } },
    ...meters.flatMap((id, i) => [
      { op: 'createAsset', asset: { id, kind: 'meter', modelId: 'voltis-em-340', name: `M-${i + 1}`, parentId: gw, port: 'rs485-1', config: meterConfig(i + 1) } },
      { op: 'connect', connection: { a: { assetId: i === 0 ? gw : meters[i - 1], port: i === 0 ? 'rs485-1' : 'com' }, b: { assetId: id, port: 'com' }, label: `K-M${i + 1}`, lengthM: 20 } },
    ]),
    ...sensors.flatMap((id, i) => [
      { op: 'createAsset', asset: { id, kind: 'sensor', modelId: 'thermia-tt-420', name: `T-${i + 1}`, parentId: ctl, port: `ui-${i + 1}`, config: sensorConfig() } },
      { op: 'connect', connection: { a: { assetId: id, port: 'out' }, b: { assetId: ctl, port: `ui-${i + 1}` }, label: `K-T${i + 1}`, lengthM: 5 } },
    ]),
  ];
  const cs = await rec.send(target, 0, 'POST', `/v1/sites/${siteId}/changesets`, { body: { operations: ops, comment: 'chaos baseline' } });
  if (cs.outcome !== 201) throw new Error(`baseline of ${code}: ${cs.outcome} ${cs.text}`);
  const graph = await rec.send<Graph>(target, 0, 'GET', `/v1/sites/${siteId}/graph`);
  return graph.response as Graph;
}

const etag = (kind: 'asset' | 'connection' | 'site', e: { id: string; version: number }) => `"${kind}-${e.id}-v${e.version}"`;

/**
 * One client: loops until `until`, each round picking a site and an action from its own (often
 * stale) view of that site, re-reading the site now and then and after a refusal that says its
 * view is old.
 */
export class RaceClient {
  private readonly views = new Map<string, Graph>();
  private readonly random: () => number;
  private sinceRead = 0;

  constructor(
    readonly id: number,
    private readonly rec: Recorder,
    private readonly balance: Balancer,
    private readonly sites: readonly string[],
    seed: number,
  ) {
    this.random = prng(seed * 7919 + id);
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }

  private send(method: Method, path: string, opts: SendOptions = {}): Promise<Exchange> {
    // A third of the POSTs carry an Idempotency-Key, so its bookkeeping runs through every fault too.
    if (method === 'POST' && this.random() < 0.33) opts = { ...opts, headers: { ...opts.headers, 'idempotency-key': randomUUID() } };
    return this.rec.send(this.balance(), this.id, method, path, opts);
  }

  private async read(siteId: string): Promise<Graph | undefined> {
    const ex = await this.send('GET', `/v1/sites/${siteId}/graph`);
    if (ex.outcome === 200) this.views.set(siteId, ex.response as Graph);
    this.sinceRead = 0;
    return this.views.get(siteId);
  }

  async run(until: number): Promise<void> {
    while (Date.now() < until) {
      const siteId = this.pick(this.sites);
      let view = this.views.get(siteId);
      if (!view || this.sinceRead > 6 + this.random() * 6) view = await this.read(siteId);
      if (!view) {
        await sleep(50);
        continue;
      }
      this.sinceRead++;
      const ex = await this.act(view);
      if (ex && typeof ex.outcome === 'number' && [404, 409, 412].includes(ex.outcome) && this.random() < 0.5) await this.read(siteId);
      if (ex && (ex.outcome === 'unsent' || ex.outcome === 'lost' || ex.outcome === 503)) await sleep(50 + this.random() * 100);
    }
  }

  /** One write (or read) chosen by weight from what the view holds. */
  private act(g: Graph): Promise<Exchange | undefined> {
    const of = (kind: Asset['kind']) => g.assets.filter((a) => a.kind === kind);
    const gateways = of('gateway');
    const controllers = of('controller');
    const meters = of('meter');
    const sensors = of('sensor');
    const siteId = g.site.id;
    const r = this.random() * 100;

    if (gateways.length === 0 || r < 2) {
      return this.create(siteId, { kind: 'gateway', modelId: 'nexa-gw-200', name: this.pick(['GW-1', 'GW-2']), config: gatewayConfig(this.pick(['10.20.0.10', '10.20.0.11']), 'gw') });
    }
    if (r < 16) {
      return this.create(siteId, {
        kind: 'meter',
        modelId: 'voltis-em-340',
        name: this.pick(METER_NAMES),
        serial: this.pick(SERIALS),
        parentId: this.pick(gateways).id,
        port: 'rs485-1',
        config: meterConfig(this.pick(UNIT_IDS)),
      });
    }
    if (r < 20) {
      return this.create(siteId, { kind: 'meter', modelId: 'ampera-pm-5560', name: this.pick(IP_METER_NAMES), firmware: '2.4.0', parentId: this.pick(gateways).id, port: null, config: ipMeterConfig(this.pick(IPS)) });
    }
    if (r < 24 || controllers.length === 0) {
      if (controllers.length === 0 || r < 21) {
        return this.create(siteId, { kind: 'controller', modelId: 'kelvo-dc-8', name: this.pick(['C-1', 'C-2']), parentId: this.pick(gateways).id, port: 'rs485-2', config: controllerConfig(this.pick([10, 11])) });
      }
    }
    if (r < 32) {
      const ctl = this.pick(controllers);
      return this.create(siteId, { kind: 'sensor', modelId: 'thermia-tt-420', name: this.pick(SENSOR_NAMES), parentId: ctl.id, port: this.pick(CHANNELS), config: sensorConfig() });
    }
    if (r < 38) {
      // A cable: a meter on its gateway's bus, or a sensor to the channel it sits on (or another one).
      if (this.random() < 0.5 && meters.length > 0) {
        const m = this.pick(meters);
        const from = this.random() < 0.5 ? { assetId: m.parentId ?? this.pick(gateways).id, port: 'rs485-1' } : { assetId: this.pick(meters).id, port: 'com' };
        return this.send('POST', '/v1/connections', { body: { siteId, a: from, b: { assetId: m.id, port: 'com' }, label: `K-${m.name}`, lengthM: this.pick(LENGTHS) } });
      }
      if (sensors.length > 0) {
        const s = this.pick(sensors);
        const port = this.random() < 0.8 && s.port ? s.port : this.pick(CHANNELS);
        return this.send('POST', '/v1/connections', { body: { siteId, a: { assetId: s.id, port: 'out' }, b: { assetId: s.parentId ?? this.pick(controllers).id, port }, label: `K-${s.name}`, lengthM: this.pick(LENGTHS) } });
      }
    }
    if (r < 50 && meters.length > 0) {
      const m = this.pick(meters);
      return this.send('PATCH', `/v1/assets/${m.id}`, { body: { config: { unitId: this.pick(UNIT_IDS) } }, headers: { 'if-match': etag('asset', m) } });
    }
    if (r < 55 && meters.length > 0) {
      const m = this.pick(meters);
      if (m.modelId !== 'voltis-em-340') return this.send('PUT', `/v1/assets/${m.id}/config`, { body: { ...ipMeterConfig(this.pick(IPS)), pollIntervalMs: this.pick(POLLS) }, headers: { 'if-match': etag('asset', m) } });
      return this.send('PUT', `/v1/assets/${m.id}/config`, { body: { ...meterConfig(this.pick(UNIT_IDS)), pollIntervalMs: this.pick(POLLS) }, headers: { 'if-match': etag('asset', m) } });
    }
    if (r < 60) {
      const a = this.pick(g.assets);
      const pool = { gateway: ['GW-1', 'GW-2'], controller: ['C-1', 'C-2'], meter: METER_NAMES, sensor: SENSOR_NAMES }[a.kind];
      const patch = this.random() < 0.3 ? { serial: this.pick(SERIALS) } : this.random() < 0.15 ? { status: this.pick(['active', 'retired', 'planned']) } : { name: this.pick(pool) };
      return this.send('PATCH', `/v1/assets/${a.id}`, { body: patch, headers: { 'if-match': etag('asset', a) } });
    }
    if (r < 68) {
      // Deletes of anything — gateways and controllers with children are refused, unless the view is stale and they raced empty.
      const a = this.random() < 0.25 ? this.pick([...gateways, ...controllers]) : this.pick(g.assets);
      return this.send('DELETE', `/v1/assets/${a.id}`, { headers: { 'if-match': etag('asset', a) } });
    }
    if (r < 73 && controllers.length > 0) return this.removeController(g, this.pick(controllers));
    if (r < 78 && meters.length > 1) {
      const [a, b] = [this.pick(meters), this.pick(meters)];
      if (a.id !== b.id && a.modelId === b.modelId && typeof a.config.unitId === 'number') {
        const ops = [
          { op: 'updateAsset', id: a.id, expectedVersion: a.version, patch: { config: { unitId: b.config.unitId } } },
          { op: 'updateAsset', id: b.id, expectedVersion: b.version, patch: { config: { unitId: a.config.unitId } } },
        ];
        return this.send('POST', `/v1/sites/${siteId}/changesets`, { body: { operations: ops, comment: 'swap unit ids' } });
      }
    }
    if (r < 84 && g.connections.length > 0) {
      const c = this.pick(g.connections);
      if (this.random() < 0.5) return this.send('DELETE', `/v1/connections/${c.id}`, { headers: { 'if-match': etag('connection', c) } });
      return this.send('PATCH', `/v1/connections/${c.id}`, { body: this.random() < 0.5 ? { lengthM: this.pick(LENGTHS) } : { label: `L-${Math.floor(this.random() * 5)}` }, headers: { 'if-match': etag('connection', c) } });
    }
    if (r < 86) return this.send('PATCH', `/v1/sites/${siteId}`, { body: { name: `Chaos ${g.site.code} ${Math.floor(this.random() * 4)}` }, headers: { 'if-match': etag('site', g.site) } });
    if (r < 87) {
      // A narrower subnet leaves addresses outside it: refused while they are in use.
      const network = this.pick([NETWORK, { subnet: '10.20.0.0/25', router: '10.20.0.1' }, { subnet: '10.20.0.16/28', router: '10.20.0.17' }]);
      return this.send('PATCH', `/v1/sites/${siteId}`, { body: { network }, headers: { 'if-match': etag('site', g.site) } });
    }
    if (r < 90 && meters.length > 0) {
      const m = this.pick(meters);
      const ops = [{ op: 'updateAsset', id: m.id, expectedVersion: m.version, patch: { config: { unitId: this.pick(UNIT_IDS) } } }];
      return this.send('POST', `/v1/sites/${siteId}/changesets?dryRun=true`, { body: { operations: ops } });
    }
    return this.read(siteId).then(() => undefined);
  }

  private create(siteId: string, asset: Record<string, unknown>): Promise<Exchange> {
    return this.send('POST', '/v1/assets', { body: { siteId, ...asset } });
  }

  /** One change set removing a controller, its sensors and every cable on them — as the client last saw them. */
  private removeController(g: Graph, ctl: Asset): Promise<Exchange> {
    const sensors = g.assets.filter((a) => a.parentId === ctl.id);
    const gone = new Set([ctl.id, ...sensors.map((s) => s.id)]);
    const cables = g.connections.filter((c: Connection) => gone.has(c.a.assetId) || gone.has(c.b.assetId));
    const ops = [
      ...cables.map((c) => ({ op: 'disconnect', id: c.id, expectedVersion: c.version })),
      ...sensors.map((s) => ({ op: 'deleteAsset', id: s.id, expectedVersion: s.version })),
      { op: 'deleteAsset', id: ctl.id, expectedVersion: ctl.version },
    ];
    return this.send('POST', `/v1/sites/${g.site.id}/changesets`, { body: { operations: ops, comment: `remove ${ctl.name}` } });
  }
}

/**
 * Runs `clients` racing clients for `seconds` over the instances `balance` hands out, with
 * `during` running alongside (kills, outages), and returns when all have stopped.
 */
export async function race(opts: { rec: Recorder; balance: Balancer; sites: readonly string[]; clients: number; seconds: number; seed: number; during?: (until: number) => Promise<void> }): Promise<void> {
  const until = Date.now() + opts.seconds * 1000;
  const clients = Array.from({ length: opts.clients }, (_, i) => new RaceClient(i + 1, opts.rec, opts.balance, opts.sites, opts.seed));
  await Promise.all([...clients.map((c) => c.run(until)), opts.during?.(until)]);
}

/** Round-robin over the instances that are up (all of them when none is marked up). */
export function roundRobin(instances: () => Array<Target & { up: boolean }>): Balancer {
  let i = 0;
  return () => {
    const all = instances();
    const up = all.filter((x) => x.up);
    const from = up.length > 0 ? up : all;
    return from[i++ % from.length];
  };
}

/** Chaos knobs from the environment: `CHAOS_SECONDS` (load per scenario), `CHAOS_REQUESTS` (hostile requests), `CHAOS_SEED`. */
export const chaosEnv = {
  seconds: (fallback: number) => Number(process.env.CHAOS_SECONDS ?? fallback),
  requests: (fallback: number) => Number(process.env.CHAOS_REQUESTS ?? fallback),
  seed: () => Number(process.env.CHAOS_SEED ?? Date.now() % 100_000),
};
