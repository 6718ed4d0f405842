import { createHash, randomUUID } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import type { AuditEvent } from '../../src/audit/types.ts';
import type { AssetViewData, ConnectionViewData, SiteViewData } from '../../src/core/changes/views.ts';
import type { Violation } from '../../src/core/rules/types.ts';
import { createTestDatabase, type TestDatabase } from '../../src/db/test-database.ts';
import type { Problem } from '../../src/http/problem.ts';
import { buildServer, type Server } from '../../src/server.ts';

export type { AssetViewData as Asset, ConnectionViewData as Connection, SiteViewData as Site } from '../../src/core/changes/views.ts';
export type { AuditEvent, Problem, Violation };

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a client sees of one response. */
export interface ApiResponse<T> {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  /** The parsed JSON body (undefined for an empty or non-JSON body). */
  body: T;
  /** The raw body text (for NDJSON/CSV exports). */
  text: string;
}

export type Api = <T = unknown>(method: Method, url: string, body?: unknown, headers?: Record<string, string>) => Promise<ApiResponse<T>>;

export interface ChangesetResult {
  changesetId: string;
  dryRun: boolean;
  siteRevision: number;
  changes: Array<{ entityType: string; entityId: string; action: string; before: object | null; after: object | null; diff: object[]; etag: string | null }>;
  impacted: string[];
  violations: Violation[];
  valid: boolean;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const TOKEN = 'test-operator-token';

/** The audit actor id static-token auth records for `token`. */
export const actorIdOf = (token: string) => `token:${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;

/** A rema server on a fresh database, driven in-process through `app.inject`. */
export interface Harness {
  server: Server;
  db: TestDatabase;
  api: Api;
  /** The same API with another Authorization header (or none, for `null`). */
  apiAs(token: string | null): Api;
  /** The API as the lifecycle service (a service JWT): for the internal routes only services may call. */
  service: Api;
  close(): Promise<void>;
}

/**
 * Builds rema on a fresh test database. Call in `beforeAll`, close in `afterAll`.
 *
 * @example
 *   let h: Harness;
 *   beforeAll(async () => { h = await startHarness(); });
 *   afterAll(() => h.close());
 *   const res = await h.api<Site>('GET', `/v1/sites/${id}`);
 */
export async function startHarness(): Promise<Harness> {
  const db = await createTestDatabase();
  const server = await buildServer({ databaseUrl: db.url, token: TOKEN });
  await server.app.ready();
  const apiAs =
    (token: string | null): Api =>
    async <T>(method: Method, url: string, body?: unknown, headers: Record<string, string> = {}) => {
      const opts: InjectOptions = {
        method,
        url,
        headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers },
      };
      if (body !== undefined) opts.payload = body as InjectOptions['payload'];
      const res = await server.app.inject(opts);
      const type = String(res.headers['content-type'] ?? '');
      const json = /json/.test(type) && !/ndjson/.test(type) && res.body.length > 0;
      return { status: res.statusCode, headers: res.headers, body: (json ? JSON.parse(res.body) : undefined) as T, text: res.body };
    };
  return {
    server,
    db,
    api: apiAs(TOKEN),
    apiAs,
    service: apiAs(await server.admin.serviceToken('lifecycle')),
    async close() {
      await server.close();
      await db.drop();
    },
  };
}

// ---------------------------------------------------------------- configurations

export const SERIAL = { baud: 19200, parity: 'even', stopBits: 1 } as const;

export function gatewayConfig(ip: string, hostname = 'gw') {
  const bus = { protocol: 'modbus-rtu', ...SERIAL, maxDevices: 32 };
  return { hostname, ip, protocols: ['modbus-rtu', 'mqtt'], pollIntervalMs: 5000, buses: { 'rs485-1': bus, 'rs485-2': bus } };
}

export function meterConfig(unitId: number) {
  return { unitId, serial: { ...SERIAL }, pollIntervalMs: 15000, ct: { primaryA: 100, secondary: '5A' }, ratedCurrentA: 80, phases: 3 };
}

/** An Ampera PM-5560 polled over Modbus TCP. */
export function ipMeterConfig(ip: string) {
  return { ip, pollIntervalMs: 15000, ct: { primaryA: 100, secondary: '5A' }, ratedCurrentA: 80, phases: 3 };
}

/** A Kelvo DC-8 whose first four universal inputs read 4–20 mA. */
export function controllerConfig(unitId: number) {
  const ma = { signal: '4-20mA' };
  return { unitId, serial: { ...SERIAL }, pollIntervalMs: 10000, channels: { 'ui-1': ma, 'ui-2': ma, 'ui-3': ma, 'ui-4': ma }, loops: [] as object[] };
}

/** A Thermia TT-420 temperature transmitter (4–20 mA, −40…120 °C). */
export function sensorConfig() {
  return { outputSignal: '4-20mA', unit: 'degC', range: { min: -40, max: 120 }, calibrationOffset: 0 };
}

// ---------------------------------------------------------------- fixtures

let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}-${randomUUID().slice(0, 4).toUpperCase()}`;

/** Fails loudly with the response body, so a broken fixture says why. */
export function expectStatus<T>(res: ApiResponse<T>, status: number, what: string): T {
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status}: ${res.text}`);
  return res.body;
}

export const NETWORK = { subnet: '10.20.0.0/24', router: '10.20.0.1' };

export async function createSite(api: Api, fields: Partial<{ code: string; name: string }> = {}): Promise<SiteViewData> {
  const code = fields.code ?? unique('S');
  const res = await api<SiteViewData>('POST', '/v1/sites', { code, name: fields.name ?? `Site ${code}`, timezone: 'Europe/Berlin', network: NETWORK });
  return expectStatus(res, 201, 'create site');
}

export interface NewAssetFields {
  kind: 'gateway' | 'controller' | 'meter' | 'sensor';
  modelId: string;
  name: string;
  parentId?: string | null;
  port?: string | null;
  config?: object;
  serial?: string | null;
  status?: 'planned' | 'active' | 'retired';
  id?: string;
}

export async function createAsset(api: Api, siteId: string, fields: NewAssetFields): Promise<AssetViewData> {
  return expectStatus(await api<AssetViewData>('POST', '/v1/assets', { siteId, ...fields }), 201, `create ${fields.kind} ${fields.name}`);
}

export async function connect(api: Api, siteId: string, a: [string, string], b: [string, string], label: string, lengthM = 20): Promise<ConnectionViewData> {
  const res = await api<ConnectionViewData>('POST', '/v1/connections', { siteId, a: { assetId: a[0], port: a[1] }, b: { assetId: b[0], port: b[1] }, label, lengthM });
  return expectStatus(res, 201, `connect ${label}`);
}

/** A commissioned site: one gateway, meters on bus rs485-1, a controller on rs485-2 with sensors on its inputs, and the cables between them. */
export interface SiteFixture {
  site: SiteViewData;
  gateway: AssetViewData;
  /** On rs485-1 with unit ids 1, 2, 3, … */
  meters: AssetViewData[];
  /** On rs485-2 with unit id 10. */
  controller: AssetViewData;
  /** On ui-1, ui-2, … of the controller. */
  sensors: AssetViewData[];
  cables: ConnectionViewData[];
}

/**
 * Creates a site and its equipment through the API, the way a commissioning engineer would.
 *
 * @example
 *   const f = await buildSite(h.api, { meters: 3, sensors: 2 });
 */
export async function buildSite(api: Api, opts: { meters?: number; sensors?: number } = {}): Promise<SiteFixture> {
  const site = await createSite(api);
  const tag = site.code.toLowerCase();
  const gateway = await createAsset(api, site.id, { kind: 'gateway', modelId: 'nexa-gw-200', name: `GW-${tag}`, config: gatewayConfig('10.20.0.10', `gw-${tag}`) });
  const meters: AssetViewData[] = [];
  const cables: ConnectionViewData[] = [];
  let previous: [string, string] = [gateway.id, 'rs485-1'];
  for (let i = 1; i <= (opts.meters ?? 3); i++) {
    const meter = await createAsset(api, site.id, {
      kind: 'meter',
      modelId: 'voltis-em-340',
      name: `M-${i}`,
      parentId: gateway.id,
      port: 'rs485-1',
      config: meterConfig(i),
    });
    meters.push(meter);
    cables.push(await connect(api, site.id, previous, [meter.id, 'com'], `K-M${i}`));
    previous = [meter.id, 'com'];
  }
  const controller = await createAsset(api, site.id, {
    kind: 'controller',
    modelId: 'kelvo-dc-8',
    name: 'DC-1',
    parentId: gateway.id,
    port: 'rs485-2',
    config: controllerConfig(10),
  });
  cables.push(await connect(api, site.id, [gateway.id, 'rs485-2'], [controller.id, 'com'], 'K-DC1'));
  const sensors: AssetViewData[] = [];
  for (let i = 1; i <= (opts.sensors ?? 2); i++) {
    const sensor = await createAsset(api, site.id, {
      kind: 'sensor',
      modelId: 'thermia-tt-420',
      name: `T-${i}`,
      parentId: controller.id,
      port: `ui-${i}`,
      config: sensorConfig(),
    });
    sensors.push(sensor);
    cables.push(await connect(api, site.id, [sensor.id, 'out'], [controller.id, `ui-${i}`], `K-T${i}`, 5));
  }
  return { site, gateway, meters, controller, sensors, cables };
}

// ---------------------------------------------------------------- reads

export const etagOf = (kind: 'asset' | 'connection' | 'site', e: { id: string; version: number }) => `"${kind}-${e.id}-v${e.version}"`;

export async function getAsset(api: Api, id: string): Promise<AssetViewData> {
  return expectStatus(await api<AssetViewData>('GET', `/v1/assets/${id}`), 200, `get asset ${id}`);
}

export async function getSite(api: Api, id: string): Promise<SiteViewData> {
  return expectStatus(await api<SiteViewData>('GET', `/v1/sites/${id}`), 200, `get site ${id}`);
}

/** Every audit event of a site, newest first. */
export async function auditOfSite(api: Api, siteId: string, filter: Record<string, string> = {}): Promise<AuditEvent[]> {
  const qs = new URLSearchParams({ siteId, limit: '1000', ...filter });
  return expectStatus(await api<Page<AuditEvent>>('GET', `/v1/audit?${qs}`), 200, 'audit query').items;
}

/** Walks a cursor-paginated list to its end and returns every item with the number of pages. */
export async function readAllPages<T>(api: Api, url: string, startCursor: string | null = null): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = startCursor;
  let pages = 0;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const res: ApiResponse<Page<T>> = await api<Page<T>>('GET', cursor ? `${url}${sep}cursor=${encodeURIComponent(cursor)}` : url);
    const page = expectStatus(res, 200, `list ${url}`);
    items.push(...page.items);
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== null && pages < 1000);
  return { items, pages };
}

/** Rows the site holds in the database (assets, cables, config versions), for "nothing changed" checks. */
export async function storedRows(db: TestDatabase, siteId: string) {
  const q = async (sql: string) => (await db.pool.query(sql, [siteId])).rows;
  return {
    assets: await q(`SELECT * FROM config.assets WHERE site_id = $1 ORDER BY id`),
    connections: await q(`SELECT * FROM config.connections WHERE site_id = $1 ORDER BY id`),
    versions: await q(`SELECT * FROM config.config_versions WHERE site_id = $1 ORDER BY asset_id, version`),
  };
}
