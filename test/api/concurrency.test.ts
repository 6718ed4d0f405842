import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type Server } from '../../src/server.ts';
import {
  type Api,
  type ApiResponse,
  type Asset,
  auditOfSite,
  buildSite,
  createSite,
  etagOf,
  gatewayConfig,
  getAsset,
  ipMeterConfig,
  meterConfig,
  NETWORK,
  type Problem,
  readAllPages,
  sensorConfig,
  type SiteFixture,
  startHarness,
  TOKEN,
  type Harness,
  type Violation,
} from './helpers.ts';

const N = 32;

let h: Harness;
let f: SiteFixture;
beforeAll(async () => {
  h = await startHarness();
  f = await buildSite(h.api, { meters: 2, sensors: 1 });
});
afterAll(() => h?.close());

/** Status counts, e.g. `{ 201: 1, 409: 31 }`. */
function tally(responses: Array<{ status: number }>): Record<number, number> {
  const out: Record<number, number> = {};
  for (const r of responses) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
}

/** Fires every request at once; each carries its own request id so its audit trail can be found. */
async function race(api: Api, count: number, request: (i: number, headers: Record<string, string>) => Parameters<Api>) {
  const requestIds = Array.from({ length: count }, (_, i) => `race-${i}-${randomUUID()}`);
  const responses = await Promise.all(requestIds.map((id, i) => api<Problem>(...request(i, { 'x-request-id': id }))));
  return responses.map((res, i) => ({ ...res, requestId: requestIds[i] }));
}

/** Every rules refusal of the race is in the audit log with outcome refused. */
async function expectRefusalsAudited(siteId: string, responses: Array<ApiResponse<Problem> & { requestId: string }>) {
  const refused = new Set((await auditOfSite(h.api, siteId, { outcome: 'refused' })).map((e) => e.requestId));
  for (const r of responses.filter((x) => x.body.code === 'CONFLICT_RULES')) expect(refused.has(r.requestId), r.requestId).toBe(true);
}

async function expectSiteValid(siteId: string) {
  const res = await h.api<{ valid: boolean; violations: Violation[] }>('POST', `/v1/sites/${siteId}/validate`);
  expect(res.status).toBe(200);
  expect(res.body.violations.filter((v) => v.severity === 'error')).toEqual([]);
  expect(res.body.valid).toBe(true);
}

async function expectAuditChainsVerify() {
  const res = await h.api<{ ok: boolean; problems: object[] }>('GET', '/v1/audit/verify');
  expect(res.body).toMatchObject({ ok: true, problems: [] });
}

describe(`${N} concurrent writers claiming one resource: exactly one wins`, () => {
  it('one bus unit id, claimed for different new meters', async () => {
    const responses = await race(h.api, N, (i, headers) => [
      'POST',
      '/v1/assets',
      { siteId: f.site.id, kind: 'meter', modelId: 'voltis-em-340', name: `M-race-${i}`, parentId: f.gateway.id, port: 'rs485-1', config: meterConfig(77) },
      headers,
    ]);
    expect(tally(responses)).toEqual({ 201: 1, 409: N - 1 });
    const losers = responses.filter((r) => r.status === 409);
    const winner = responses.find((r) => r.status === 201)?.body as unknown as Asset;
    for (const r of losers) {
      expect(r.body.code).toBe('CONFLICT_RULES');
      expect(r.body.violations?.find((v) => v.code === 'UNIT_ID_TAKEN')?.assetIds).toContain(winner.id);
    }
    const onBus = (await readAllPages<Asset>(h.api, `/v1/assets?parentId=${f.gateway.id}&kind=meter`)).items;
    expect(onBus.filter((m) => m.port === 'rs485-1' && m.config.unitId === 77).map((m) => m.id)).toEqual([winner.id]);
    await expectRefusalsAudited(f.site.id, losers);
    await expectSiteValid(f.site.id);
  });

  it('one controller channel, claimed for different new sensors', async () => {
    const responses = await race(h.api, N, (i, headers) => [
      'POST',
      '/v1/assets',
      { siteId: f.site.id, kind: 'sensor', modelId: 'thermia-tt-420', name: `T-race-${i}`, parentId: f.controller.id, port: 'ui-4', config: sensorConfig() },
      headers,
    ]);
    expect(tally(responses)).toEqual({ 201: 1, 409: N - 1 });
    expect(responses.filter((r) => r.status === 409).every((r) => r.body.violations?.some((v) => v.code === 'CHANNEL_TAKEN'))).toBe(true);
    const onChannel = (await readAllPages<Asset>(h.api, `/v1/assets?parentId=${f.controller.id}`)).items.filter((s) => s.port === 'ui-4');
    expect(onChannel).toHaveLength(1);
    await expectRefusalsAudited(f.site.id, responses);
    await expectSiteValid(f.site.id);
  });

  it('one IP address, claimed for different new meters on IP', async () => {
    const responses = await race(h.api, N, (i, headers) => [
      'POST',
      '/v1/assets',
      { siteId: f.site.id, kind: 'meter', modelId: 'ampera-pm-5560', name: `M-ip-${i}`, parentId: f.gateway.id, port: null, config: ipMeterConfig('10.20.0.77') },
      headers,
    ]);
    expect(tally(responses)).toEqual({ 201: 1, 409: N - 1 });
    expect(responses.filter((r) => r.status === 409).every((r) => r.body.violations?.some((v) => v.code === 'IP_TAKEN'))).toBe(true);
    await expectRefusalsAudited(f.site.id, responses);
    await expectSiteValid(f.site.id);
  });

  it('one serial number, claimed for new meters in two different sites (the unique index decides)', async () => {
    const other = await buildSite(h.api, { meters: 0, sensors: 0 });
    const sites = [f, other];
    const responses = await race(h.api, N, (i, headers) => {
      const s = sites[i % 2];
      return [
        'POST',
        '/v1/assets',
        { siteId: s.site.id, kind: 'meter', modelId: 'voltis-em-340', name: `M-serial-${i}`, serial: 'VOL-RACE-0001', parentId: s.gateway.id, port: 'rs485-2', config: meterConfig(100 + i) },
        headers,
      ];
    });
    expect(tally(responses)).toEqual({ 201: 1, 409: N - 1 });
    for (const r of responses.filter((x) => x.status === 409)) expect(['CONFLICT_RULES', 'CONFLICT_CONSTRAINT']).toContain(r.body.code);
    const holders = (await readAllPages<Asset>(h.api, '/v1/assets?serial=VOL-RACE-0001')).items;
    expect(holders).toHaveLength(1);
    await expectSiteValid(f.site.id);
    await expectSiteValid(other.site.id);
  });
});

describe('concurrent creation of sites with one code', () => {
  it(`${N} writers, one code: exactly one 201, the others 409 from the unique index`, async () => {
    const responses = await race(h.api, N, (i, headers) => ['POST', '/v1/sites', { code: 'RACE-1', name: `Race ${i}`, timezone: 'UTC', network: NETWORK }, headers]);
    expect(tally(responses)).toEqual({ 201: 1, 409: N - 1 });
    expect(responses.filter((r) => r.status === 409).every((r) => r.body.code === 'CONFLICT_CONSTRAINT')).toBe(true);
    expect((await readAllPages(h.api, '/v1/sites?code=RACE-1')).items).toHaveLength(1);
  });
});

describe('deleting a site while an asset is created in it', () => {
  it('never lets both succeed: either the site is refused as not empty, or the asset finds no site', async () => {
    for (let round = 0; round < 8; round++) {
      const site = await createSite(h.api);
      const [del, create] = await Promise.all([
        h.api<Problem>('DELETE', `/v1/sites/${site.id}`, undefined, { 'if-match': etagOf('site', site) }),
        h.api<Problem>('POST', '/v1/assets', { siteId: site.id, kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-late', config: gatewayConfig('10.20.0.10') }),
      ]);
      const outcome = `${del.status}/${create.status}`;
      expect(['204/404', '409/201'], outcome).toContain(outcome);
      const assets = (await readAllPages<Asset>(h.api, `/v1/assets?siteId=${site.id}`)).items;
      expect(assets).toHaveLength(create.status === 201 ? 1 : 0);
    }
  });
});

describe('concurrent updates with the same If-Match', () => {
  it.each([2, 16])('%i updates based on one version: exactly one 200, the others 412', async (count) => {
    const meter = await getAsset(h.api, f.meters[1].id);
    const responses = await race(h.api, count, (i, headers) => ['PATCH', `/v1/assets/${meter.id}`, { name: `M-2 edit ${count}-${i}` }, { ...headers, 'if-match': etagOf('asset', meter) }]);
    expect(tally(responses)).toEqual({ 200: 1, 412: count - 1 });
    const winner = responses.find((r) => r.status === 200)?.body as unknown as Asset;
    const now = await getAsset(h.api, meter.id);
    expect(now).toEqual(winner);
    expect(now.version).toBe(meter.version + 1);
    for (const r of responses.filter((x) => x.status === 412)) expect(r.body.currentEtag).toBe(etagOf('asset', now));
  });

  it('concurrent change sets on one site with stale expected versions: one applies, the rest are refused whole', async () => {
    const [m1, m2] = await Promise.all(f.meters.map((m) => getAsset(h.api, m.id)));
    const responses = await race(h.api, 8, (i, headers) => [
      'POST',
      `/v1/sites/${f.site.id}/changesets`,
      {
        operations: [
          { op: 'updateAsset', id: m1.id, expectedVersion: m1.version, patch: { config: { unitId: 50 + i } } },
          { op: 'updateAsset', id: m2.id, expectedVersion: m2.version, patch: { config: { unitId: 60 + i } } },
        ],
      },
      headers,
    ]);
    expect(tally(responses)).toEqual({ 201: 1, 412: 7 });
    const [a, b] = await Promise.all([getAsset(h.api, m1.id), getAsset(h.api, m2.id)]);
    expect((b.config.unitId as number) - (a.config.unitId as number)).toBe(10); // both from the same change set
    await expectSiteValid(f.site.id);
  });
});

describe('over real HTTP, against two server instances on one database', () => {
  let second: Server;
  let bases: string[];
  beforeAll(async () => {
    second = await buildServer({ databaseUrl: h.db.url, token: TOKEN, migrate: false });
    bases = [];
    for (const app of [h.server.app, second.app]) {
      await app.listen({ port: 0, host: '127.0.0.1' });
      bases.push(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
    }
  });
  afterAll(() => second?.close());

  /** `Api` over fetch, alternating between the instances. */
  const httpApi =
    (base: string): Api =>
    async <T>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(`${base}${url}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, headers: Object.fromEntries(res.headers), body: (text ? JSON.parse(text) : undefined) as T, text };
    };
  const alternating: Api = (() => {
    let n = 0;
    return (...args) => httpApi(bases[n++ % bases.length])(...args);
  })() as Api;

  it('one gateway IP, claimed by new gateways: exactly one 201', async () => {
    const site = await createSite(h.api);
    const responses = await race(alternating, N, (i, headers) => [
      'POST',
      '/v1/assets',
      { siteId: site.id, kind: 'gateway', modelId: 'nexa-gw-200', name: `GW-${i}`, config: gatewayConfig('10.20.0.88', `gw-${i}`) },
      headers,
    ]);
    expect(tally(responses)).toEqual({ 201: 1, 409: N - 1 });
    expect(responses.filter((r) => r.status === 409).every((r) => r.body.violations?.some((v) => v.code === 'IP_TAKEN'))).toBe(true);
    await expectRefusalsAudited(site.id, responses);
    await expectSiteValid(site.id);
  });

  it('one bus unit id, claimed through both instances, after each has cached the site', async () => {
    const g = await buildSite(h.api, { meters: 1, sensors: 0 });
    // Each instance writes once, so both hold a cached graph of the site the other then outdates.
    await httpApi(bases[1])('PATCH', `/v1/assets/${g.controller.id}`, { name: 'DC-cached' }, { 'if-match': etagOf('asset', g.controller) });
    const responses = await race(alternating, N, (i, headers) => [
      'POST',
      '/v1/assets',
      { siteId: g.site.id, kind: 'meter', modelId: 'voltis-em-340', name: `M-http-${i}`, parentId: g.gateway.id, port: 'rs485-2', config: meterConfig(11) },
      headers,
    ]);
    expect(tally(responses)).toEqual({ 201: 1, 409: N - 1 });
    await expectSiteValid(g.site.id);
  });

  it('two updates with the same If-Match through different instances: one 200, one 412', async () => {
    const meter = await getAsset(h.api, f.meters[0].id);
    const responses = await Promise.all(bases.map((base, i) => httpApi(base)<Problem>('PATCH', `/v1/assets/${meter.id}`, { name: `M-1 via ${i}` }, { 'if-match': etagOf('asset', meter) })));
    expect(tally(responses)).toEqual({ 200: 1, 412: 1 });
  });

  it('leaves every site valid and every audit chain intact', async () => {
    const sites = (await readAllPages<{ id: string }>(h.api, '/v1/sites')).items;
    for (const s of sites) await expectSiteValid(s.id);
    await expectAuditChainsVerify();
  });
});
