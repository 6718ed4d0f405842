import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSite, gatewayConfig, NETWORK, startHarness, type Harness, type Site } from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

describe('site time zones', () => {
  it('refuses a site whose time zone is not an IANA zone, naming the field', async () => {
    const res = await h.api<{ code: string; errors: Array<{ path: string }> }>('POST', '/v1/sites', { code: 'TZ-1', name: 'x', timezone: 'Not/AZone', network: NETWORK });
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e) => e.path)).toEqual(['/timezone']);
    const list = await h.api<{ items: Site[] }>('GET', '/v1/sites?code=TZ-1');
    expect(list.body.items).toEqual([]);
  });

  it('refuses a patch to an unknown time zone and keeps the old one', async () => {
    const site = await createSite(h.api, { code: 'TZ-2' });
    const res = await h.api('PATCH', `/v1/sites/${site.id}`, { timezone: 'Mars/Olympus' }, { 'if-match': `"site-${site.id}-v${site.version}"` });
    expect(res.status).toBe(422);
    const now = await h.api<Site>('GET', `/v1/sites/${site.id}`);
    expect(now.body.timezone).toBe(site.timezone);
    expect(now.body.version).toBe(site.version);
  });

  it('accepts a real zone', async () => {
    const site = await createSite(h.api, { code: 'TZ-3' });
    const res = await h.api<Site>('PATCH', `/v1/sites/${site.id}`, { timezone: 'America/Chicago' }, { 'if-match': `"site-${site.id}-v${site.version}"` });
    expect(res.status).toBe(200);
    expect(res.body.timezone).toBe('America/Chicago');
  });
});

describe('refused site writes are audited', () => {
  it('records a refused delete of a site that still has assets', async () => {
    const site = await createSite(h.api, { code: 'RS-1' });
    const gw = await h.api('POST', '/v1/assets', { siteId: site.id, kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-1', config: gatewayConfig('10.20.0.10') });
    expect(gw.status).toBe(201);
    const res = await h.api('DELETE', `/v1/sites/${site.id}`, undefined, { 'if-match': `"site-${site.id}-v${site.version}"` });
    expect(res.status).toBe(409);
    const refused = await h.api<{ items: Array<{ action: string; outcome: string; violations: Array<{ code: string }> }> }>('GET', `/v1/audit?siteId=${site.id}&outcome=refused`);
    expect(refused.body.items).toMatchObject([{ action: 'delete', outcome: 'refused', violations: [{ code: 'SITE_NOT_EMPTY' }] }]);
  });

  it('records a refused creation of a site whose code is taken', async () => {
    await createSite(h.api, { code: 'RS-2' });
    const again = await h.api('POST', '/v1/sites', { code: 'RS-2', name: 'again', timezone: 'UTC', network: NETWORK });
    expect(again.status).toBe(409);
    const refused = await h.api<{ items: Array<{ entityType: string; outcome: string }> }>('GET', '/v1/audit?outcome=refused&entityType=site&action=create');
    expect(refused.body.items.length).toBeGreaterThan(0);
  });
});
