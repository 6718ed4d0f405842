import { afterAll, beforeAll, it } from 'vitest';
import { buildSite, startHarness, type Harness, etagOf, auditOfSite, getSite } from './helpers.ts';

let h: Harness;
beforeAll(async () => { h = await startHarness(); });
afterAll(() => h?.close());

it('explores', async () => {
  const t = Date.now();
  const f = await buildSite(h.api);
  console.log('fixture ms', Date.now() - t);
  const v = await h.api('POST', `/v1/sites/${f.site.id}/validate`);
  console.log(JSON.stringify(v.body));
  const bad = await h.api('POST', '/v1/assets', { siteId: f.site.id, kind: 'meter', modelId: 'voltis-em-340', name: 'X', parentId: f.gateway.id, port: 'rs485-1', config: { unitId: 300, serial: { baud: 19200, parity: 'even', stopBits: 1 }, pollIntervalMs: 15000, ratedCurrentA: 80, phases: 3 } });
  console.log(bad.status, JSON.stringify(bad.body));
  const m = f.meters[0];
  const p = await h.api('PATCH', `/v1/assets/${m.id}`, { config: { unitId: 300 } }, { 'if-match': etagOf('asset', m) });
  console.log(p.status, JSON.stringify(p.body));
  const q = await h.api('PUT', `/v1/assets/${m.id}/config`, { unitId: 3 }, { 'if-match': etagOf('asset', m) });
  console.log(q.status, JSON.stringify(q.body));
  const um = await h.api('POST', '/v1/assets', { siteId: f.site.id, kind: 'meter', modelId: 'nope', name: 'Y' });
  console.log(um.status, JSON.stringify(um.body));
  const s0 = await getSite(h.api, f.site.id);
  const ps = await h.api('PATCH', `/v1/sites/${f.site.id}`, { name: 'Renamed' }, { 'if-match': etagOf('site', s0) });
  console.log(ps.status, JSON.stringify(ps.body));
  const ev = await auditOfSite(h.api, f.site.id, { entityType: 'site' });
  console.log(JSON.stringify(ev.map((e) => [e.action, e.before, e.after])));
});
