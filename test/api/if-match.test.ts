import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Asset, buildSite, type Connection, etagOf, getAsset, meterConfig, type Problem, type Site, type SiteFixture, startHarness, type Harness } from './helpers.ts';

let h: Harness;
let f: SiteFixture;
beforeAll(async () => {
  h = await startHarness();
  f = await buildSite(h.api, { meters: 2, sensors: 1 });
});
afterAll(() => h?.close());

type Kind = 'asset' | 'connection' | 'site';
interface Target {
  name: string;
  kind: Kind;
  method: 'PATCH' | 'PUT' | 'DELETE';
  url: () => string;
  body?: object;
  /** The resource as GET returns it now. */
  read: () => Promise<{ id: string; version: number }>;
}

const readAsset = (id: () => string) => () => getAsset(h.api, id());
const readConnection = (id: () => string) => async () => (await h.api<Connection>('GET', `/v1/connections/${id()}`)).body;
const readSite = () => async () => (await h.api<Site>('GET', `/v1/sites/${f.site.id}`)).body;

const targets: Target[] = [
  { name: 'PATCH an asset', kind: 'asset', method: 'PATCH', url: () => `/v1/assets/${f.meters[0].id}`, body: { name: 'M-renamed' }, read: readAsset(() => f.meters[0].id) },
  { name: 'PUT an asset configuration', kind: 'asset', method: 'PUT', url: () => `/v1/assets/${f.meters[0].id}/config`, body: meterConfig(9), read: readAsset(() => f.meters[0].id) },
  { name: 'DELETE an asset', kind: 'asset', method: 'DELETE', url: () => `/v1/assets/${f.meters[1].id}`, read: readAsset(() => f.meters[1].id) },
  { name: 'PATCH a connection', kind: 'connection', method: 'PATCH', url: () => `/v1/connections/${f.cables[0].id}`, body: { label: 'K-x' }, read: readConnection(() => f.cables[0].id) },
  { name: 'DELETE a connection', kind: 'connection', method: 'DELETE', url: () => `/v1/connections/${f.cables[0].id}`, read: readConnection(() => f.cables[0].id) },
  { name: 'PATCH a site', kind: 'site', method: 'PATCH', url: () => `/v1/sites/${f.site.id}`, body: { name: 'Elsewhere' }, read: readSite() },
  { name: 'DELETE a site', kind: 'site', method: 'DELETE', url: () => `/v1/sites/${f.site.id}`, read: readSite() },
];

describe.each(targets)('If-Match on $name', (t) => {
  async function send(ifMatch?: string) {
    return h.api<Problem>(t.method, t.url(), t.body, ifMatch === undefined ? {} : { 'if-match': ifMatch });
  }

  it('answers 428 without If-Match and changes nothing', async () => {
    const before = await t.read();
    const res = await send();
    expect(res.status).toBe(428);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('PRECONDITION_REQUIRED');
    expect(await t.read()).toEqual(before);
  });

  it('answers 412 with the current ETag when If-Match is stale', async () => {
    const current = await t.read();
    const res = await send(etagOf(t.kind, { id: current.id, version: current.version - 1 }));
    expect(res.status).toBe(412);
    expect(res.body.code).toBe('PRECONDITION_FAILED');
    expect(res.body.currentEtag).toBe(etagOf(t.kind, current));
    expect(res.headers.etag).toBe(etagOf(t.kind, current));
    expect(await t.read()).toEqual(current);
  });

  it('answers 412 for a version from the future too', async () => {
    const current = await t.read();
    const res = await send(etagOf(t.kind, { id: current.id, version: current.version + 1 }));
    expect(res.status).toBe(412);
    expect(res.body.currentEtag).toBe(etagOf(t.kind, current));
  });

  it.each([
    ['a weak ETag', (e: string) => `W/${e}`],
    ['an unquoted ETag', (e: string) => e.slice(1, -1)],
    ['a wildcard', () => '*'],
    ['a list of ETags', (e: string) => `${e}, ${e}`],
    ['garbage', () => 'not-an-etag'],
  ])('answers 400 INVALID_ETAG for %s', async (_what, mangle) => {
    const current = await t.read();
    const res = await send(mangle(etagOf(t.kind, current)));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_ETAG');
    expect(await t.read()).toEqual(current);
  });

  it('answers 412 for the ETag of another resource', async () => {
    const current = await t.read();
    const others: Array<[Kind, { id: string; version: number }]> = [
      ['asset', f.controller],
      ['connection', f.cables[f.cables.length - 1]],
      ['site', { ...f.site, id: f.controller.id }],
    ];
    for (const [kind, other] of others) {
      const res = await send(etagOf(kind, { id: other.id, version: current.version }));
      expect(res.status, `${kind} ETag`).toBe(412);
      expect(res.body.code).toBe('PRECONDITION_FAILED');
    }
    expect(await t.read()).toEqual(current);
  });
});

describe('the current ETag', () => {
  it('lets the write through, and the answer carries the next ETag', async () => {
    const meter = await getAsset(h.api, f.meters[0].id);
    const res = await h.api<Asset>('PATCH', `/v1/assets/${meter.id}`, { name: 'M-1 (main)' }, { 'if-match': etagOf('asset', meter) });
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe(etagOf('asset', { id: meter.id, version: meter.version + 1 }));
    const again = await h.api<Problem>('PATCH', `/v1/assets/${meter.id}`, { name: 'M-1 (again)' }, { 'if-match': etagOf('asset', meter) });
    expect(again.status).toBe(412);
    expect(again.body.currentEtag).toBe(res.headers.etag);
  });

  it('guards each operation of a change set by its expectedVersion', async () => {
    const meter = await getAsset(h.api, f.meters[0].id);
    const res = await h.api<Problem>('POST', `/v1/sites/${f.site.id}/changesets`, {
      operations: [
        { op: 'updateAsset', id: f.controller.id, expectedVersion: f.controller.version, patch: { name: 'DC-1 (plant)' } },
        { op: 'updateAsset', id: meter.id, expectedVersion: meter.version - 1, patch: { name: 'M-1 (stale)' } },
      ],
    });
    expect(res.status).toBe(412);
    expect(res.body.currentEtag).toBe(etagOf('asset', meter));
    expect(res.body.detail).toMatch(/operation 1/);
    expect((await getAsset(h.api, f.controller.id)).name).toBe(f.controller.name);
  });
});
