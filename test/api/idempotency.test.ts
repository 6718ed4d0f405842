import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSite, expectStatus, gatewayConfig, startHarness, type Asset, type Harness } from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

describe('Idempotency-Key on a real write', () => {
  it('creates the asset once when a client retries the same POST', async () => {
    const site = await createSite(h.api, { code: 'IDEM-1' });
    const body = { siteId: site.id, kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-1', config: gatewayConfig('10.20.0.10') };
    const first = await h.api<Asset>('POST', '/v1/assets', body, { 'idempotency-key': 'create-gw-1' });
    const retry = await h.api<Asset>('POST', '/v1/assets', body, { 'idempotency-key': 'create-gw-1' });
    const created = expectStatus(first, 201, 'first POST');
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(created);
    expect(retry.headers['idempotent-replayed']).toBe('true');

    const list = await h.api<{ items: Asset[] }>('GET', `/v1/assets?siteId=${site.id}`);
    expect(list.body.items).toHaveLength(1);
    const audit = await h.api<{ items: unknown[] }>('GET', `/v1/audit?siteId=${site.id}&entityType=asset`);
    expect(audit.body.items).toHaveLength(1);
  });

  it('refuses the key with another body, storing nothing', async () => {
    const site = await createSite(h.api, { code: 'IDEM-2' });
    const body = { siteId: site.id, kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-1', config: gatewayConfig('10.20.0.10') };
    expectStatus(await h.api('POST', '/v1/assets', body, { 'idempotency-key': 'k' }), 201, 'first POST');
    const other = await h.api<{ code: string }>('POST', '/v1/assets', { ...body, name: 'GW-2' }, { 'idempotency-key': 'k' });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const list = await h.api<{ items: Asset[] }>('GET', `/v1/assets?siteId=${site.id}`);
    expect(list.body.items.map((a) => a.name)).toEqual(['GW-1']);
  });

  it('replays a change set answered with return=minimal in that shape, its Preference-Applied included', async () => {
    const site = await createSite(h.api, { code: 'IDEM-3' });
    const body = { operations: [{ op: 'createAsset', asset: { kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-1', config: gatewayConfig('10.20.0.10') } }] };
    const url = `/v1/sites/${site.id}/changesets`;
    const first = await h.api<{ changes?: unknown[] }>('POST', url, body, { 'idempotency-key': 'cs-min', prefer: 'return=minimal' });
    expect(first.status).toBe(201);
    const retry = await h.api<{ changes?: unknown[] }>('POST', url, body, { 'idempotency-key': 'cs-min' });
    expect([retry.status, retry.headers['idempotent-replayed'], retry.headers['preference-applied']]).toEqual([201, 'true', 'return=minimal']);
    expect(retry.body).toEqual(first.body);
    expect(retry.body.changes).toBeUndefined();
  });
});
