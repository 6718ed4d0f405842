import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/core/config-hash.ts';
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

  /**
   * The states a key went through, each with the transaction that set it — to check the claim is
   * marked committed by the write's own transaction (the one whose id is in the row's xmin).
   */
  const transitions = async (key: string) =>
    (await h.db.pool.query<{ state: string; xid: string }>(`SELECT state, xid FROM test_idempotency_transitions WHERE key = $1 ORDER BY seq`, [key])).rows;
  const writtenBy = async (table: string, id: string) =>
    (await h.db.pool.query<{ xid: string }>(`SELECT xmin::text AS xid FROM ${table} WHERE id = $1`, [id])).rows[0].xid;

  /** Records every state a key goes through, with the transaction that set it. */
  const logTransitions = () =>
    h.db.pool.query(`
      CREATE TABLE IF NOT EXISTS test_idempotency_transitions (seq serial, key text, state text, xid text);
      CREATE OR REPLACE FUNCTION test_record_transition() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO test_idempotency_transitions (key, state, xid) VALUES (NEW.key, NEW.state, (pg_current_xact_id()::text::bigint % 4294967296)::text);
        RETURN NEW;
      END $$;
      CREATE OR REPLACE TRIGGER test_transitions AFTER INSERT OR UPDATE ON http.idempotency_keys FOR EACH ROW EXECUTE FUNCTION test_record_transition();
    `);

  it('marks the claim with its change set in the write\'s own transaction, so a retry after an answer lost to a crash is told, not run again', async () => {
    await logTransitions();
    const site = await createSite(h.api, { code: 'IDEM-4' });
    const body = { siteId: site.id, kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-1', config: gatewayConfig('10.20.0.10') };
    const first = expectStatus(await h.api<Asset>('POST', '/v1/assets', body, { 'idempotency-key': 'lost-answer' }), 201, 'first POST');
    const steps = await transitions('lost-answer');
    expect(steps.map((t) => t.state)).toEqual(['pending', 'committed', 'done']);
    expect(steps[1].xid).toBe(await writtenBy('config.assets', first.id));
    const claim = async () =>
      (await h.db.pool.query<{ state: string; changeset_id: string | null }>(`SELECT state, changeset_id FROM http.idempotency_keys WHERE key = 'lost-answer'`)).rows[0];
    const { changeset_id: changesetId } = await claim();
    const changeset = await h.api<{ id: string; operations: Array<{ op: string }> }>('GET', `/v1/changesets/${changesetId}`);
    expect([changeset.status, changeset.body.operations.map((o) => o.op)]).toEqual([200, ['createAsset']]);

    // As if the instance died between COMMIT and storing the answer: the claim stays as the write left it.
    await h.db.pool.query(`UPDATE http.idempotency_keys SET state = 'committed', status = NULL, headers = NULL, body = NULL WHERE key = 'lost-answer'`);
    const early = await h.api<{ code: string }>('POST', '/v1/assets', body, { 'idempotency-key': 'lost-answer' });
    expect([early.status, early.body.code]).toEqual([409, 'IDEMPOTENCY_KEY_IN_USE']); // the first may still be answering

    await h.db.pool.query(`UPDATE http.idempotency_keys SET created_at = now() - interval '61 seconds' WHERE key = 'lost-answer'`);
    const late = await h.api<{ code: string; changesetId: string; detail: string }>('POST', '/v1/assets', body, { 'idempotency-key': 'lost-answer' });
    expect([late.status, late.body.code, late.body.changesetId]).toEqual([409, 'IDEMPOTENCY_KEY_COMMITTED', changesetId]);
    expect(late.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(late.headers['content-location']).toBe(`/v1/changesets/${changesetId}`);
    expect(late.body.detail).toContain(`GET /v1/changesets/${changesetId}`);
    const list = await h.api<{ items: Asset[] }>('GET', `/v1/assets?siteId=${site.id}`);
    expect(list.body.items.map((a) => a.id)).toEqual([first.id]);
    expect(await claim()).toEqual({ state: 'committed', changeset_id: changesetId });

    // A site's creation is marked the same way, with no change set to name.
    const siteBody = { code: 'IDEM-5', name: 'Idem 5', timezone: 'UTC', network: (site as { network: object }).network };
    const created = expectStatus(await h.api<{ id: string }>('POST', '/v1/sites', siteBody, { 'idempotency-key': 'site-lost' }), 201, 'site POST');
    const siteSteps = await transitions('site-lost');
    expect(siteSteps.map((t) => t.state)).toEqual(['pending', 'committed', 'done']);
    expect(siteSteps[1].xid).toBe(await writtenBy('config.sites', created.id));
    await h.db.pool.query(`UPDATE http.idempotency_keys SET state = 'committed', created_at = now() - interval '61 seconds' WHERE key = 'site-lost'`);
    const lateSite = await h.api<{ code: string; changesetId: string | null }>('POST', '/v1/sites', siteBody, { 'idempotency-key': 'site-lost' });
    expect([lateSite.status, lateSite.body.code, lateSite.body.changesetId]).toEqual([409, 'IDEMPOTENCY_KEY_COMMITTED', null]);
  });

  it('marks the claim of a POST that makes no change set in its own transaction too, with where its result is', async () => {
    await logTransitions();
    const body = { serial: 'IDEM-DEV-1', modelId: 'voltis-em-340', firmware: '1.0.0' };
    const device = expectStatus(await h.api<{ id: string }>('POST', '/v1/devices', body, { 'idempotency-key': 'device-lost' }), 201, 'register device');
    const steps = await transitions('device-lost');
    expect(steps.map((t) => t.state)).toEqual(['pending', 'committed', 'done']);
    expect(steps[1].xid).toBe(await writtenBy('lifecycle.devices', device.id));

    // As if the instance died between COMMIT and storing the answer.
    await h.db.pool.query(`UPDATE http.idempotency_keys SET state = 'committed', status = NULL, headers = NULL, body = NULL, created_at = now() - interval '61 seconds' WHERE key = 'device-lost'`);
    const late = await h.api<{ code: string; location: string; detail: string }>('POST', '/v1/devices', body, { 'idempotency-key': 'device-lost' });
    expect([late.status, late.body.code, late.body.location]).toEqual([409, 'IDEMPOTENCY_KEY_COMMITTED', `/v1/devices/${device.id}`]);
    expect(late.headers['content-location']).toBe(`/v1/devices/${device.id}`);
    expect(late.body.detail).toContain(`GET /v1/devices/${device.id}`);
    const serials = await h.db.pool.query(`SELECT id FROM lifecycle.devices WHERE serial = 'IDEM-DEV-1'`);
    expect(serials.rows.map((r) => r.id)).toEqual([device.id]);
  });

  it('keeps no answer that holds a secret (Cache-Control: no-store): a retry is told where the result is, not shown the secret again', async () => {
    const body = { email: 'idem-user@example.com', name: 'Idem User', roles: [{ role: 'viewer' }] };
    const first = await h.api<{ id: string; initialPassword: string }>('POST', '/v1/users', body, { 'idempotency-key': 'user-secret' });
    const user = expectStatus(first, 201, 'create user');
    expect(user.initialPassword).toEqual(expect.any(String));
    const kept = await h.db.pool.query<{ state: string; body: string | null; location: string }>(`SELECT state, body, location FROM http.idempotency_keys WHERE key = 'user-secret'`);
    expect(kept.rows).toEqual([{ state: 'done', body: null, location: `/v1/users/${user.id}` }]);
    const stored = await h.db.pool.query(`SELECT 1 FROM http.idempotency_keys WHERE body LIKE '%' || $1 || '%'`, [user.initialPassword]);
    expect(stored.rowCount).toBe(0);

    const retry = await h.api<{ code: string; detail: string; initialPassword?: string }>('POST', '/v1/users', body, { 'idempotency-key': 'user-secret' });
    expect([retry.status, retry.body.code, retry.body.initialPassword]).toEqual([409, 'IDEMPOTENCY_KEY_COMMITTED', undefined]);
    expect(retry.headers['content-location']).toBe(`/v1/users/${user.id}`);
    expect(retry.body.detail).toContain('secret');
    const users = await h.db.pool.query(`SELECT id FROM admin.users WHERE email = 'idem-user@example.com'`);
    expect(users.rows.map((r) => r.id)).toEqual([user.id]);
  });

  it('lets a retry run again when the first request failed before committing', async () => {
    await logTransitions();
    const site = await createSite(h.api, { code: 'IDEM-6' });
    const body = { siteId: site.id, kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-1', config: gatewayConfig('10.20.0.10') };
    // The caller's claim on the key, as the first request left it when its instance died before committing.
    const probe = expectStatus(await h.api<Asset>('POST', '/v1/assets', { ...body, name: 'GW-0', config: gatewayConfig('10.20.0.11') }, { 'idempotency-key': 'owner-probe' }), 201, 'probe');
    expect(probe.name).toBe('GW-0');
    const hash = createHash('sha256').update(`POST /v1/assets\n${canonicalize(body)}`).digest('hex');
    await h.db.pool.query(`INSERT INTO http.idempotency_keys (owner, key, request_hash, state, claim_id, created_at)
      SELECT owner, 'died-early', $1, 'pending', gen_random_uuid(), now() - interval '61 seconds' FROM http.idempotency_keys WHERE key = 'owner-probe'`, [hash]);
    const retry = await h.api<Asset>('POST', '/v1/assets', body, { 'idempotency-key': 'died-early' });
    expect(retry.status).toBe(201);
    expect((await transitions('died-early')).map((t) => t.state)).toEqual(['pending', 'pending', 'committed', 'done']);
  });

  it('lets only one of a slow request and the retry that took its key over apply the change', async () => {
    const site = await createSite(h.api, { code: 'IDEM-7' });
    const body = { siteId: site.id, kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-1', config: gatewayConfig('10.20.0.10') };
    // The request's lock statement takes 400 ms (a trigger on the audit chain heads it locks).
    await h.db.pool.query(`
      CREATE OR REPLACE FUNCTION test_slow_head() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.4); RETURN NEW; END $$;
      CREATE TRIGGER test_slow_head BEFORE INSERT ON audit.chain_heads FOR EACH ROW EXECUTE FUNCTION test_slow_head();
    `);
    try {
      const slow = h.api<{ code: string }>('POST', '/v1/assets', body, { 'idempotency-key': 'taken-over' });
      await new Promise((resolve) => setTimeout(resolve, 150));
      // Meanwhile a retry takes the key over (as after the 60 s of an abandoned claim): the claim gets its token.
      const taken = await h.db.pool.query(`UPDATE http.idempotency_keys SET claim_id = gen_random_uuid(), created_at = now() WHERE key = 'taken-over' AND state = 'pending'`);
      expect(taken.rowCount).toBe(1);
      const answer = await slow;
      expect([answer.status, answer.body.code]).toEqual([409, 'IDEMPOTENCY_KEY_IN_USE']);
    } finally {
      await h.db.pool.query(`DROP TRIGGER test_slow_head ON audit.chain_heads`);
    }
    const list = await h.api<{ items: Asset[] }>('GET', `/v1/assets?siteId=${site.id}`);
    expect(list.body.items).toEqual([]);
  });
});
