import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../src/db/test-database.ts';
import { buildServer, type Server } from '../../src/server.ts';
import { RunWorld } from './changeset-intents.ts';
import { siteApi, type SiteApi } from './site-api.ts';
import { defaultConfig } from '../../src/core/catalog/default-config.ts';
import { builtinCatalog } from '../../src/core/catalog/catalog.ts';

let db: TestDatabase; let server: Server; let api: SiteApi;
beforeAll(async () => { db = await createTestDatabase(); server = await buildServer({ databaseUrl: db.url, token: 't' }); api = siteApi(server.app, 't'); });
afterAll(async () => { await server.close(); await db.drop(); });

it('scratch', async () => {
  const site = await api.createSite('SCR-1');
  const w = new RunWorld('x');
  const base = w.baseline();
  if (base.t !== 'changeset') throw new Error();
  let r = await api.call('POST', `/v1/sites/${site.id}/changesets`, { operations: base.operations });
  const gw = (base.operations[0] as { asset: { id: string } }).asset.id;
  const meter = builtinCatalog().get('voltis-em-340')!;
  const mk = (name: string, unitId: number) => ({ siteId: site.id, kind: 'meter', modelId: meter.id, name, parentId: gw, port: 'rs485-2', config: defaultConfig(meter, { unitId }) });
  r = await api.call('POST', '/v1/assets', mk('A', 1)); const a = r.body as { id: string };
  r = await api.call('PATCH', `/v1/assets/${a.id}`, { config: { unitId: 2 } }, { 'if-match': `"asset-${a.id}-v1"` }); console.log('patch', r.status);
  r = await api.call('POST', '/v1/assets', mk('B', 1)); console.log('B', r.status);
  r = await api.call('PUT', `/v1/internal/assets/${a.id}/deployed`, { configVersion: 1 }); console.log('deployed v1', r.status, JSON.stringify(r.body.violations ?? ''));
  console.log(JSON.stringify(await api.validate(site.id), null, 1));
  // channel
  const ctl = builtinCatalog().get('kelvo-dc-16')!; const sen = builtinCatalog().get('thermia-tt-420')!;
  const g = await api.graph(site.id); const c = g.assets.find((x) => x.name === 'Main C')!;
  r = await api.call('PATCH', `/v1/assets/${c.id}`, { config: { channels: { 'ui-1': { signal: '4-20mA' }, 'ui-2': { signal: '4-20mA' } } } }, { 'if-match': `"asset-${c.id}-v${c.version}"` }); console.log('ch', r.status);
  const ms = (name: string, port: string) => ({ siteId: site.id, kind: 'sensor', modelId: sen.id, name, parentId: c.id, port, config: defaultConfig(sen) });
  r = await api.call('POST', '/v1/assets', ms('S1', 'ui-1')); const s1 = r.body as { id: string }; console.log('s1', r.status);
  r = await api.call('PATCH', `/v1/assets/${s1.id}`, { port: 'ui-2' }, { 'if-match': `"asset-${s1.id}-v1"` }); console.log('move', r.status);
  r = await api.call('POST', '/v1/assets', ms('S2', 'ui-1')); console.log('s2', r.status);
  r = await api.call('PUT', `/v1/internal/assets/${s1.id}/deployed`, { configVersion: 1 }); console.log('deployed s1 v1', r.status);
  console.log(JSON.stringify((await api.validate(site.id)).map((v) => v.code)));
  // ip
  const gwm = builtinCatalog().get('nexa-gw-200')!;
  r = await api.call('POST', '/v1/assets', { siteId: site.id, kind: 'gateway', modelId: gwm.id, name: 'G2', config: defaultConfig(gwm, { name: 'g2', ip: '10.20.0.30' }) }); const g2 = r.body as { id: string }; console.log('g2', r.status);
  r = await api.call('PATCH', `/v1/assets/${g2.id}`, { config: { ip: '10.20.0.31' } }, { 'if-match': `"asset-${g2.id}-v1"` }); console.log('g2 ip', r.status);
  r = await api.call('POST', '/v1/assets', { siteId: site.id, kind: 'gateway', modelId: gwm.id, name: 'G3', config: defaultConfig(gwm, { name: 'g3', ip: '10.20.0.30' }) }); console.log('g3', r.status);
  r = await api.call('PUT', `/v1/internal/assets/${g2.id}/deployed`, { configVersion: 1 }); console.log('deployed g2 v1', r.status);
  console.log(JSON.stringify((await api.validate(site.id)).map((v) => v.code)));
  expect(1).toBe(1);
});
