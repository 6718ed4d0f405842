import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSite, etagOf, getAsset, getSite, meterConfig, type Problem, readAllPages, type SiteFixture, startHarness, storedRows, type Harness } from './helpers.ts';

let h: Harness;
let f: SiteFixture;
beforeAll(async () => {
  h = await startHarness();
  f = await buildSite(h.api, { meters: 1, sensors: 1 });
});
afterAll(() => h?.close());

const paths = (p: Problem) => (p.errors ?? []).map((e) => e.path).sort();

function expect422(res: { status: number; headers: Record<string, unknown>; body: Problem }) {
  expect(res.status).toBe(422);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body.code).toBe('VALIDATION_FAILED');
  expect(res.body.errors?.every((e) => e.in === 'body')).toBe(true);
}

describe('configuration documents are checked against the model schema', () => {
  it('refuses a meter with unit id 300 and no CT, naming both fields', async () => {
    const rowsBefore = await storedRows(h.db, f.site.id);
    const { ct: _ct, ...withoutCt } = meterConfig(300);
    const res = await h.api<Problem>('POST', '/v1/assets', {
      siteId: f.site.id,
      kind: 'meter',
      modelId: 'voltis-em-340',
      name: 'M-bad',
      parentId: f.gateway.id,
      port: 'rs485-1',
      config: withoutCt,
    });
    expect422(res);
    expect(paths(res.body)).toEqual(['/config/ct', '/config/unitId']);
    expect(res.body.errors?.find((e) => e.path === '/config/unitId')?.message).toMatch(/247/);
    expect(await storedRows(h.db, f.site.id)).toEqual(rowsBefore);
  });

  it('refuses a field the model does not know inside the configuration', async () => {
    const res = await h.api<Problem>('POST', '/v1/assets', {
      siteId: f.site.id,
      kind: 'meter',
      modelId: 'voltis-em-340',
      name: 'M-typo',
      parentId: f.gateway.id,
      port: 'rs485-1',
      config: { ...meterConfig(30), untiId: 31 },
    });
    expect422(res);
    expect(paths(res.body)).toEqual(['/config/untiId']);
  });

  it('points into a merge patch at the field that breaks the merged configuration', async () => {
    const meter = f.meters[0];
    const res = await h.api<Problem>('PATCH', `/v1/assets/${meter.id}`, { config: { phases: 2, ct: { secondary: '10A' } } }, { 'if-match': etagOf('asset', meter) });
    expect422(res);
    expect(paths(res.body)).toEqual(['/config/ct/secondary', '/config/phases']);
    expect(res.body.errors?.find((e) => e.path === '/config/ct/secondary')?.message).toMatch(/"5A","1A","333mV"/);
    expect(await getAsset(h.api, meter.id)).toEqual(meter);
  });

  it('points into a replaced configuration at the missing fields', async () => {
    const meter = f.meters[0];
    const res = await h.api<Problem>('PUT', `/v1/assets/${meter.id}/config`, { unitId: 4, serial: { baud: 19200, parity: 'even', stopBits: 1 } }, { 'if-match': etagOf('asset', meter) });
    expect422(res);
    expect(paths(res.body)).toEqual(['/ct', '/phases', '/pollIntervalMs', '/ratedCurrentA']);
  });

  it('points at the operation in a change set', async () => {
    const res = await h.api<Problem>('POST', `/v1/sites/${f.site.id}/changesets`, {
      operations: [
        { op: 'updateAsset', id: f.controller.id, expectedVersion: f.controller.version, patch: { name: 'DC-1 renamed' } },
        { op: 'setConfig', id: f.meters[0].id, expectedVersion: f.meters[0].version, config: { ...meterConfig(2), pollIntervalMs: 5 } },
      ],
    });
    expect422(res);
    expect(paths(res.body)).toEqual(['/operations/1/config/pollIntervalMs']);
    expect((await getAsset(h.api, f.controller.id)).name).toBe(f.controller.name);
  });

  it('refuses a sensor output the model does not have', async () => {
    const res = await h.api<Problem>('POST', '/v1/assets', {
      siteId: f.site.id,
      kind: 'sensor',
      modelId: 'thermia-tt-420',
      name: 'T-volts',
      parentId: f.controller.id,
      port: 'ui-3',
      config: { outputSignal: '0-10V', unit: 'degC', range: { min: -40, max: 120 }, calibrationOffset: 0 },
    });
    expect422(res);
    expect(paths(res.body)).toEqual(['/config/outputSignal']);
  });
});

describe('request bodies are checked against the API schema', () => {
  it('refuses an unknown device model', async () => {
    const res = await h.api<Problem>('POST', '/v1/assets', { siteId: f.site.id, kind: 'meter', modelId: 'acme-9000', name: 'M-acme', parentId: f.gateway.id, port: 'rs485-1' });
    expect422(res);
    expect(paths(res.body)).toEqual(['/modelId']);
    expect(res.body.errors?.[0].message).toMatch(/acme-9000/);
  });

  it('refuses a model of another kind', async () => {
    const res = await h.api<Problem>('POST', '/v1/assets', { siteId: f.site.id, kind: 'meter', modelId: 'nexa-gw-200', name: 'M-gw' });
    expect422(res);
    expect(paths(res.body)).toEqual(['/kind']);
  });

  it('refuses extra fields on an asset, a patch, a cable and a site', async () => {
    const meter = f.meters[0];
    const cases = [
      await h.api<Problem>('POST', '/v1/assets', { siteId: f.site.id, kind: 'meter', modelId: 'voltis-em-340', name: 'M-x', colour: 'red' }),
      await h.api<Problem>('PATCH', `/v1/assets/${meter.id}`, { nmae: 'typo' }, { 'if-match': etagOf('asset', meter) }),
      await h.api<Problem>('POST', '/v1/connections', { siteId: f.site.id, a: { assetId: f.gateway.id, port: 'rs485-1' }, b: { assetId: meter.id, port: 'com' }, lengthM: 1, colour: 'red' }),
      await h.api<Problem>('POST', '/v1/sites', { code: 'X-1', name: 'x', timezone: 'UTC', network: { subnet: '10.0.0.0/24', router: '10.0.0.1' }, owner: 'me' }),
    ];
    for (const res of cases) {
      expect422(res);
      expect(res.body.errors?.length).toBeGreaterThan(0);
    }
    expect(cases[0].body.errors?.[0].path).toMatch(/colour/);
    expect(cases[1].body.errors?.[0].path).toMatch(/nmae/);
    expect(await getAsset(h.api, meter.id)).toEqual(meter);
  });

  it('lists every failing field of a body at once', async () => {
    const res = await h.api<Problem>('POST', '/v1/sites', { code: 'lower case', name: '', timezone: 'UTC', network: { subnet: 'x', router: 'y' } });
    expect422(res);
    expect(paths(res.body)).toEqual(expect.arrayContaining(['/code', '/name', '/network/subnet', '/network/router']));
  });

  it('refuses a string where the schema wants a number rather than coercing it', async () => {
    const res = await h.api<Problem>('POST', '/v1/assets', {
      siteId: f.site.id,
      kind: 'meter',
      modelId: 'voltis-em-340',
      name: 'M-string',
      parentId: f.gateway.id,
      port: 'rs485-1',
      config: { ...meterConfig(40), unitId: '40' },
    });
    expect422(res);
    expect(paths(res.body)).toEqual(['/config/unitId']);
    expect((await readAllPages(h.api, `/v1/assets?siteId=${f.site.id}&q=M-string`)).items).toEqual([]);
  });
});

/**
 * Found by the hostile-input run of the chaos suite (test/chaos/hostile.chaos.ts): each of
 * these answered 500 — PostgreSQL refuses NUL in text and jsonb, and unpaired surrogates in
 * jsonb — and a name pattern let one control character through.
 */
describe('text the database cannot store', () => {
  const nasty = ['a\u0000b', '\ud800', 'x\udfffy'];

  it.each(nasty)('is refused with 422 in a write, naming the field, and nothing is stored (%j)', async (value) => {
    const before = await storedRows(h.db, f.site.id);
    const cable = f.cables[0];
    const label = await h.api<Problem>('PATCH', `/v1/connections/${cable.id}`, { label: value }, { 'if-match': etagOf('connection', cable) });
    expect422(label);
    expect(paths(label.body)).toEqual(['/label']);
    const comment = await h.api<Problem>('POST', `/v1/sites/${f.site.id}/changesets`, { operations: [{ op: 'updateConnection', id: cable.id, expectedVersion: cable.version, patch: { lengthM: 12 } }], comment: value });
    expect422(comment);
    const config = await h.api<Problem>('PATCH', `/v1/assets/${f.gateway.id}`, { config: { hostname: value } }, { 'if-match': etagOf('asset', await getAsset(h.api, f.gateway.id)) });
    expect422(config);
    expect(paths(config.body)).toEqual(['/config/hostname']);
    expect(await storedRows(h.db, f.site.id)).toEqual(before);
  });

  it.each(['/v1/assets?q=%00', '/v1/assets?serial=%00', '/v1/sites?code=%00', '/v1/devices?serial=%00', '/v1/users?q=%00', '/v1/audit?action=%00', '/v1/audit?actorId=%00'])(
    'is refused with 422 in a list filter, not 500 (%s)',
    async (url) => {
      const res = await h.api<Problem>('GET', url);
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([expect.objectContaining({ in: 'querystring' })]);
    },
  );

  it('refuses a long name ending in control characters at once (the name pattern used to take quadratic time: minutes of a blocked server)', async () => {
    const started = Date.now();
    const res = await h.api<Problem>('PATCH', `/v1/assets/${f.meters[0].id}`, { name: `${'A'.repeat(300_000)}\u0007\u0007` }, { 'if-match': etagOf('asset', await getAsset(h.api, f.meters[0].id)) });
    expect422(res);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('refuses a name that is one control character between others', async () => {
    const res = await h.api<Problem>('PATCH', `/v1/assets/${f.meters[0].id}`, { name: 'x\u0007y' }, { 'if-match': etagOf('asset', await getAsset(h.api, f.meters[0].id)) });
    expect422(res);
    expect(paths(res.body)).toEqual(['/name']);
    const user = await h.api<Problem>('POST', '/v1/users', { email: 'bell@example.com', name: '\u0007' });
    expect(user.status).toBe(422);
    // C1 controls too (U+0080–U+009F: U+009B is a terminal's CSI, U+0085 a line break).
    for (const name of ['a\u009bb', 'a\u0085b']) {
      const site = await h.api<Problem>('PATCH', `/v1/sites/${f.site.id}`, { name }, { 'if-match': etagOf('site', await getSite(h.api, f.site.id)) });
      expect([name, site.status, paths(site.body)]).toEqual([name, 422, ['/name']]);
    }
  });
});
