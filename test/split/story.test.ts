import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/types.ts';
import { createTestDatabase, type TestDatabase } from '../../src/db/test-database.ts';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/simulator.ts';
import { gatewayConfig, meterConfig } from '../api/helpers.ts';
import { clearRetained } from '../lifecycle/deployments-fixture.ts';
import { freePort, startRema, stopAll, waitReady, type RemaProcess } from './processes.ts';

/**
 * The three services run apart — each its own process with its own schema — behind the
 * gateway, on one PostgreSQL and the real Mosquitto; a whole story told over the gateway, as
 * its users would tell it.
 */
const MQTT_URL = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const PLATFORM_ADMIN = { email: 'admin@rema.local', password: `platform-${randomBytes(6).toString('hex')}` };
const tag = randomBytes(3).toString('hex');

let db: TestDatabase;
let dataDir: string;
let processes: RemaProcess[] = [];
let gateway: string;
let sim: SimulatorHandle | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = mkdtempSync(path.join(tmpdir(), 'rema-split-'));
  const [config, lifecycle, admin, gw] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const env = {
    DATABASE_URL: db.url,
    MQTT_URL,
    REMA_SERVICE_SECRET: randomBytes(16).toString('hex'),
    REMA_ADMIN_PASSWORD: PLATFORM_ADMIN.password,
    REMA_TOKEN: `rema_${randomBytes(12).toString('hex')}`,
    REMA_DATA_DIR: dataDir,
    REMA_CONFIG_URL: `http://127.0.0.1:${config}`,
    REMA_LIFECYCLE_URL: `http://127.0.0.1:${lifecycle}`,
    REMA_ADMIN_URL: `http://127.0.0.1:${admin}`,
    REMA_TRUST_PROXY: '127.0.0.1',
  };
  processes = [
    startRema('admin', ['serve', '--only', 'admin'], admin, env),
    startRema('config', ['serve', '--only', 'config'], config, env),
    startRema('lifecycle', ['serve', '--only', 'lifecycle'], lifecycle, env),
    startRema('gateway', ['gateway'], gw, env),
  ];
  gateway = `http://127.0.0.1:${gw}`;
  await waitReady(processes);
}, 45_000);

afterAll(async () => {
  await sim?.stop().catch(() => undefined);
  await stopAll(processes);
  // The deployment's retained configurations and the simulated gateways' states stay on the broker otherwise.
  await clearRetained(`ACME-${tag}`.toUpperCase()).catch(() => undefined);
  await db?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

interface Reply<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** A request through the gateway. */
async function call<T = Record<string, unknown>>(token: string | null, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
  const res = await fetch(`${gateway}${url}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : text) as T };
}

function expectOk<T>(res: Reply<T>, status: number, what: string): T {
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function login(email: string, password: string): Promise<string> {
  return expectOk(await call<{ accessToken: string }>(null, 'POST', '/v1/auth/login', { email, password }), 200, `log in ${email}`).accessToken;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${processes.map((p) => `--- ${p.name}\n${p.output().slice(-2000)}`).join('\n')}`);
    await sleep(100);
  }
}

type User = { id: string; name: string };
type Asset = { id: string; version: number; name: string; configVersion: number; deployedVersion: number | null };

describe('three services run apart, one API', () => {
  it('tell a whole story: an organisation is set up, configured, deployed to and audited, with the right actor at every step', async () => {
    // The platform admin logs in and creates an organisation with its first admin.
    const platform = await login(PLATFORM_ADMIN.email, PLATFORM_ADMIN.password);
    const acmeAdmin = { email: `ada-${tag}@acme.example`, name: 'Ada Admin', password: `ada-${randomBytes(6).toString('hex')}` };
    const org = expectOk(await call<{ id: string; admin: User }>(platform, 'POST', '/v1/orgs', { name: `Acme ${tag}`, admin: acmeAdmin }), 201, 'create org');
    const admin = await login(acmeAdmin.email, acmeAdmin.password);

    // Acme's admin creates a site and three colleagues.
    const siteCode = `ACME-${tag}`.toUpperCase();
    const site = expectOk(
      await call<{ id: string; orgId: string }>(admin, 'POST', '/v1/sites', { code: siteCode, name: 'Acme plant', timezone: 'Europe/Berlin', network: { subnet: '10.20.0.0/24', router: '10.20.0.1' } }),
      201,
      'create site',
    );
    expect(site.orgId).toBe(org.id);
    const person = async (name: string, roles: Array<{ role: string; siteId?: string }>) => {
      const password = `${name.toLowerCase()}-${randomBytes(6).toString('hex')}`;
      const res = await call<User>(admin, 'POST', '/v1/users', { email: `${name.toLowerCase()}-${tag}@acme.example`, name, password, roles });
      const user = expectOk(res, 201, `create ${name}`);
      return { ...user, etag: String(res.headers.get('etag')), token: await login(`${name.toLowerCase()}-${tag}@acme.example`, password) };
    };
    const engineer = await person('Erin', [{ role: 'engineer', siteId: site.id }]);
    const operator = await person('Otto', [{ role: 'operator' }]);
    const auditor = await person('Aude', [{ role: 'auditor' }]);

    // The engineer configures a gateway and a meter; a second meter on the same unit id is refused.
    const gw = expectOk(
      await call<Asset>(engineer.token, 'POST', '/v1/assets', { siteId: site.id, kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-1', config: gatewayConfig('10.20.0.10', 'gw-1') }, { 'x-request-id': `story-gw-${tag}` }),
      201,
      'create gateway',
    );
    const meterAt = (name: string) => ({ siteId: site.id, kind: 'meter', modelId: 'voltis-em-340', name, parentId: gw.id, port: 'rs485-1', config: meterConfig(5) });
    const meter = expectOk(await call<Asset>(engineer.token, 'POST', '/v1/assets', meterAt('M-1')), 201, 'create meter');
    const refused = await call<{ code: string; violations: Array<{ code: string }> }>(engineer.token, 'POST', '/v1/assets', meterAt('M-2'));
    expect(refused.status).toBe(409);
    expect(refused.body.violations.map((v) => v.code)).toContain('UNIT_ID_TAKEN');

    // The operator registers a device, installs it at the meter (the lifecycle service records
    // its firmware through the configuration service) and deploys the site to the simulated gateway.
    const device = expectOk(await call<{ id: string; version: number }>(operator.token, 'POST', '/v1/devices', { serial: `SN-${tag}`, modelId: 'voltis-em-340', firmware: '1.3.0' }), 201, 'register device');
    const installed = await call<{ state: string }>(operator.token, 'POST', `/v1/devices/${device.id}/transitions`, { transition: 'install', assetId: meter.id }, { 'if-match': `"device-${device.id}-v${device.version}"` });
    expect(expectOk(installed, 200, 'install').state).toBe('installed');
    expect((await call<{ firmware: string }>(engineer.token, 'GET', `/v1/assets/${meter.id}`)).body.firmware).toBe('1.3.0');

    sim = await startSimulator({
      siteCode,
      mqttUrl: MQTT_URL,
      latencyMs: 20,
      api: async (p) => expectOk(await call(operator.token, 'GET', p), 200, `simulator GET ${p}`),
    });
    const deployment = expectOk(await call<{ id: string }>(operator.token, 'POST', '/v1/deployments', { siteId: site.id }), 201, 'deploy');
    const done = await until('the deployment to end', async () => {
      const d = (await call<{ status: string }>(operator.token, 'GET', `/v1/deployments/${deployment.id}`)).body;
      return d.status === 'running' ? undefined : d;
    });
    expect(done.status).toBe('succeeded');
    const deployedMeter = (await call<Asset>(engineer.token, 'GET', `/v1/assets/${meter.id}`)).body;
    expect(deployedMeter.deployedVersion).toBe(deployedMeter.configVersion);

    // The engineer retires the meter; the lifecycle service hears it from the config feed and
    // takes the device out of the slot.
    const retired = await call<Asset>(engineer.token, 'PATCH', `/v1/assets/${meter.id}`, { status: 'retired' }, { 'if-match': `"asset-${meter.id}-v${deployedMeter.version}"`, 'x-request-id': `story-retire-${tag}` });
    expectOk(retired, 200, 'retire the meter');
    await until('the device to leave the retired meter', async () => {
      const d = (await call<{ state: string; assetId: string | null }>(operator.token, 'GET', `/v1/devices/${device.id}`)).body;
      return d.state === 'decommissioned' && d.assetId === null ? d : undefined;
    });

    // The auditor reads it all, across the three services.
    const events = expectOk(await call<{ items: AuditEvent[] }>(auditor.token, 'GET', `/v1/audit?siteId=${site.id}&limit=200`), 200, 'audit query').items;
    const one = (pred: (e: AuditEvent) => boolean, what: string) => {
      const found = events.filter(pred);
      if (found.length === 0) throw new Error(`no audit event for ${what} in:\n${events.map((e) => `${e.service} ${e.entityType} ${e.action} ${e.outcome} by ${e.actor.type}:${e.actor.id}`).join('\n')}`);
      return found;
    };
    const [siteCreated] = one((e) => e.entityType === 'site' && e.action === 'create', 'the site creation');
    expect(siteCreated).toMatchObject({ service: 'config', outcome: 'applied', actor: { type: 'user', id: org.admin.id } });
    const [gwCreated] = one((e) => e.entityId === gw.id && e.action === 'create', 'the gateway write');
    expect(gwCreated).toMatchObject({ service: 'config', actor: { type: 'user', id: engineer.id, name: 'Erin' }, requestId: `story-gw-${tag}` });
    one((e) => e.entityId === meter.id && e.action === 'create' && e.actor.id === engineer.id, 'the meter write by the engineer');
    const [refusal] = one((e) => e.outcome === 'refused' && e.service === 'config', 'the refused write');
    expect(refusal).toMatchObject({ actor: { type: 'user', id: engineer.id } });
    expect(refusal.violations).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'UNIT_ID_TAKEN' })]));
    const [install] = one((e) => e.entityId === device.id && e.action === 'install', 'the install');
    expect(install).toMatchObject({ service: 'lifecycle', actor: { type: 'user', id: operator.id } });
    const [created] = one((e) => e.entityType === 'deployment' && e.action === 'create', 'the deployment');
    expect(created).toMatchObject({ service: 'lifecycle', entityId: deployment.id, actor: { type: 'user', id: operator.id, name: 'Otto' } });
    const [finished] = one((e) => e.entityType === 'deployment' && e.action === 'finish', 'the end of the deployment');
    expect(finished).toMatchObject({ actor: { type: 'system', onBehalfOf: { type: 'user', id: operator.id } }, after: { status: 'succeeded' } });
    // The deployed versions are recorded by the configuration service, asked by the lifecycle
    // service (its service token) on behalf of the operator who deployed.
    const recorded = one((e) => e.service === 'config' && e.entityType === 'asset' && e.actor.id === 'lifecycle' && e.after !== null && (e.after as Asset).deployedVersion !== null && e.entityId === meter.id, 'the deployed version');
    expect(recorded[0].actor).toMatchObject({ type: 'system', id: 'lifecycle', onBehalfOf: { type: 'user', id: operator.id, name: 'Otto' } });
    const [retire] = one((e) => e.entityId === meter.id && e.requestId === `story-retire-${tag}` && e.service === 'config', 'the retirement');
    expect(retire.actor).toMatchObject({ type: 'user', id: engineer.id });
    const [unbound] = one((e) => e.entityId === device.id && e.action === 'decommission', 'the device leaving the retired meter');
    expect(unbound).toMatchObject({ service: 'lifecycle', actor: { type: 'system', id: 'lifecycle' }, requestId: `story-retire-${tag}` });

    // The admin disables the engineer: the configuration service refuses their token within a
    // few seconds (it learns it from the admin's event feed).
    expect((await call(engineer.token, 'GET', `/v1/sites/${site.id}`)).status).toBe(200);
    expectOk(await call(admin, 'PATCH', `/v1/users/${engineer.id}`, { disabled: true }, { 'if-match': engineer.etag }), 200, 'disable the engineer');
    const startedAt = Date.now();
    await until('the engineer token to stop working at the config service', async () => ((await call(engineer.token, 'GET', `/v1/sites/${site.id}`)).status === 401 ? true : undefined), 5000);
    expect(Date.now() - startedAt).toBeLessThan(5000);
  }, 60_000);
});
