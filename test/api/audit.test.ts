import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  actorIdOf,
  type Asset,
  type AuditEvent,
  auditOfSite,
  buildSite,
  type ChangesetResult,
  type Connection,
  createAsset,
  etagOf,
  meterConfig,
  NETWORK,
  type Page,
  type Problem,
  type Site,
  type SiteFixture,
  startHarness,
  TOKEN,
  type Harness,
} from './helpers.ts';

let h: Harness;
let f: SiteFixture;
beforeAll(async () => {
  h = await startHarness();
  f = await buildSite(h.api, { meters: 2, sensors: 1 });
});
afterAll(() => h?.close());

type Entity = 'site' | 'asset' | 'connection';
const urlOf = (type: Entity, id: string) => `/v1/${type === 'asset' ? 'assets' : type === 'site' ? 'sites' : 'connections'}/${id}`;

/** The entity as a client reads it, or null when it does not exist. */
async function read(type: Entity, id: string): Promise<object | null> {
  const res = await h.api<object>('GET', urlOf(type, id));
  if (res.status === 404) return null;
  expect(res.status).toBe(200);
  return res.body;
}

async function eventsOfRequest(requestId: string): Promise<AuditEvent[]> {
  const res = await h.api<Page<AuditEvent>>('GET', `/v1/audit?requestId=${requestId}&limit=1000`);
  expect(res.status).toBe(200);
  return res.body.items;
}

/**
 * Sends one write with a fresh X-Request-Id, reading every entity it touches before and after,
 * and checks that the audit log holds one event per entity whose before/after are exactly
 * what GET returned before and after.
 */
async function expectAudited(
  touched: Array<{ type: Entity; id: string; action: 'create' | 'update' | 'delete' }>,
  write: (headers: Record<string, string>) => Promise<{ status: number; headers: Record<string, unknown> }>,
  expectedStatus: number,
  actor: object = { type: 'token', id: actorIdOf(TOKEN) },
): Promise<AuditEvent[]> {
  const requestId = `req-${randomUUID()}`;
  const before = await Promise.all(touched.map((t) => read(t.type, t.id)));
  const res = await write({ 'x-request-id': requestId });
  expect(res.status).toBe(expectedStatus);
  expect(res.headers['x-request-id']).toBe(requestId);
  const after = await Promise.all(touched.map((t) => read(t.type, t.id)));

  const events = await eventsOfRequest(requestId);
  const byEntity = (a: { entityId: string }, b: { entityId: string }) => a.entityId.localeCompare(b.entityId);
  expect(events.map((e) => ({ entityType: e.entityType, entityId: e.entityId, action: e.action, before: e.before, after: e.after })).sort(byEntity)).toEqual(
    touched.map((t, i) => ({ entityType: t.type, entityId: t.id, action: t.action, before: before[i], after: after[i] })).sort(byEntity),
  );
  for (const e of events) {
    expect(e.actor).toMatchObject(actor);
    expect(e).toMatchObject({ requestId, outcome: 'applied', service: 'config', sourceIp: '127.0.0.1' });
    expect(e.siteId).toBe(touched.find((t) => t.type === 'site')?.id ?? f.site.id);
  }
  return events;
}

/** Every event of one request shares a change set that records the request. */
async function expectOneChangeset(events: AuditEvent[]) {
  const ids = new Set(events.map((e) => e.changesetId));
  expect(ids.size).toBe(1);
  const [changesetId] = ids;
  expect(changesetId).toEqual(expect.any(String));
  const cs = await h.api<{ requestId: string; outcome: string; siteRevision: number }>('GET', `/v1/changesets/${changesetId}`);
  expect(cs.body).toMatchObject({ requestId: events[0].requestId, outcome: 'applied', siteRevision: events[0].siteRevision });
}

describe('every kind of write is audited with before and after as GET shows them', () => {
  it('creating, updating and deleting a site', async () => {
    // The new site's id is not known before the write, so its create event is checked here.
    const requestId = `req-${randomUUID()}`;
    const res = await h.api<Site>('POST', '/v1/sites', { code: 'AUD-1', name: 'Audited', timezone: 'UTC', network: NETWORK }, { 'x-request-id': requestId });
    expect(res.status).toBe(201);
    const siteId = res.body.id;
    const created = await eventsOfRequest(requestId);
    expect(created).toEqual([
      expect.objectContaining({ entityType: 'site', entityId: siteId, action: 'create', before: null, after: await read('site', siteId), siteId, requestId, outcome: 'applied' }),
    ]);
    expect(created[0].actor).toMatchObject({ type: 'token', id: actorIdOf(TOKEN) });

    const site = (await read('site', siteId)) as Site;
    await expectAudited([{ type: 'site', id: siteId, action: 'update' }], (headers) => h.api('PATCH', `/v1/sites/${siteId}`, { name: 'Audited, renamed', network: { vlan: 20 } }, { ...headers, 'if-match': etagOf('site', site) }), 200);

    const renamed = (await read('site', siteId)) as Site;
    await expectAudited([{ type: 'site', id: siteId, action: 'delete' }], (headers) => h.api('DELETE', `/v1/sites/${siteId}`, undefined, { ...headers, 'if-match': etagOf('site', renamed) }), 204);
  });

  it('creating an asset', async () => {
    const id = randomUUID();
    const events = await expectAudited(
      [{ type: 'asset', id, action: 'create' }],
      (headers) => h.api('POST', '/v1/assets', { id, siteId: f.site.id, kind: 'meter', modelId: 'voltis-em-340', name: 'M-aud', parentId: f.gateway.id, port: 'rs485-2', config: meterConfig(30) }, headers),
      201,
    );
    await expectOneChangeset(events);
  });

  it('patching an asset and replacing its configuration', async () => {
    const meter = f.meters[0];
    const patched = await expectAudited(
      [{ type: 'asset', id: meter.id, action: 'update' }],
      (headers) => h.api('PATCH', `/v1/assets/${meter.id}`, { name: 'M-1 audited', config: { ct: { primaryA: 120 } } }, { ...headers, 'if-match': etagOf('asset', meter) }),
      200,
    );
    await expectOneChangeset(patched);
    expect(patched[0].diff).toEqual(expect.arrayContaining([{ op: 'replace', path: '/name', value: 'M-1 audited' }, { op: 'replace', path: '/config/ct/primaryA', value: 120 }]));

    const now = (await read('asset', meter.id)) as Asset;
    await expectAudited(
      [{ type: 'asset', id: meter.id, action: 'update' }],
      (headers) => h.api('PUT', `/v1/assets/${meter.id}/config`, meterConfig(11), { ...headers, 'if-match': etagOf('asset', now) }),
      200,
    );
  });

  it('recording a deployed configuration version', async () => {
    const meter = f.meters[1];
    // An internal route: the lifecycle service records it, as itself.
    const lifecycle = { type: 'system', id: 'lifecycle' };
    await expectAudited([{ type: 'asset', id: meter.id, action: 'update' }], (headers) => h.service('PUT', `/v1/internal/assets/${meter.id}/deployed`, { configVersion: 1 }, headers), 200, lifecycle);
    await expectAudited([{ type: 'asset', id: meter.id, action: 'update' }], (headers) => h.service('PUT', `/v1/internal/assets/${meter.id}/deployed`, { configVersion: null }, headers), 200, lifecycle);
  });

  it('deleting an asset', async () => {
    const meter = await createAsset(h.api, f.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'M-doomed', parentId: f.gateway.id, port: 'rs485-2', config: meterConfig(31) });
    await expectAudited([{ type: 'asset', id: meter.id, action: 'delete' }], (headers) => h.api('DELETE', `/v1/assets/${meter.id}`, undefined, { ...headers, 'if-match': etagOf('asset', meter) }), 204);
  });

  it('connecting, relabelling and disconnecting a cable', async () => {
    const meter = await createAsset(h.api, f.site.id, { kind: 'meter', modelId: 'voltis-em-340', name: 'M-wired', parentId: f.gateway.id, port: 'rs485-2', config: meterConfig(32) });
    const id = randomUUID();
    await expectAudited(
      [{ type: 'connection', id, action: 'create' }],
      (headers) => h.api('POST', '/v1/connections', { id, siteId: f.site.id, a: { assetId: f.gateway.id, port: 'rs485-2' }, b: { assetId: meter.id, port: 'com' }, label: 'K-aud', lengthM: 7.5 }, headers),
      201,
    );
    const cable = (await read('connection', id)) as Connection;
    await expectAudited([{ type: 'connection', id, action: 'update' }], (headers) => h.api('PATCH', `/v1/connections/${id}`, { label: 'K-aud-2', lengthM: 9 }, { ...headers, 'if-match': etagOf('connection', cable) }), 200);
    const relabelled = (await read('connection', id)) as Connection;
    await expectAudited([{ type: 'connection', id, action: 'delete' }], (headers) => h.api('DELETE', `/v1/connections/${id}`, undefined, { ...headers, 'if-match': etagOf('connection', relabelled) }), 204);
  });

  it('applying a change set: one event per entity, all with its change set id and site revision', async () => {
    const site = (await read('site', f.site.id)) as Site;
    const controller = (await read('asset', f.controller.id)) as Asset;
    const newMeter = randomUUID();
    const newCable = randomUUID();
    let result: ChangesetResult | undefined;
    const events = await expectAudited(
      [
        { type: 'site', id: f.site.id, action: 'update' },
        { type: 'asset', id: controller.id, action: 'update' },
        { type: 'asset', id: newMeter, action: 'create' },
        { type: 'connection', id: newCable, action: 'create' },
      ],
      async (headers) => {
        const res = await h.api<ChangesetResult>(
          'POST',
          `/v1/sites/${f.site.id}/changesets`,
          {
            comment: 'commissioning, phase 2',
            operations: [
              { op: 'updateSite', expectedVersion: site.version, patch: { timezone: 'Europe/Paris' } },
              { op: 'updateAsset', id: controller.id, expectedVersion: controller.version, patch: { name: 'DC-1 plant room' } },
              { op: 'createAsset', asset: { id: newMeter, kind: 'meter', modelId: 'voltis-em-340', name: 'M-cs', parentId: f.gateway.id, port: 'rs485-2', config: meterConfig(33) } },
              { op: 'connect', connection: { id: newCable, a: { assetId: f.gateway.id, port: 'rs485-2' }, b: { assetId: newMeter, port: 'com' }, lengthM: 3 } },
            ],
          },
          headers,
        );
        result = res.body;
        return res;
      },
      201,
    );
    expect(events.every((e) => e.changesetId === result?.changesetId)).toBe(true);
    expect(events.every((e) => e.siteRevision === result?.siteRevision && e.comment === 'commissioning, phase 2')).toBe(true);
    const byChangeset = await h.api<Page<AuditEvent>>('GET', `/v1/audit?changesetId=${result?.changesetId}`);
    expect(byChangeset.body.items.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
  });
});

describe('refused writes are audited too', () => {
  it('records a refused PATCH with outcome refused, its violations and the request id', async () => {
    const [m1] = f.meters;
    const m2 = (await read('asset', f.meters[1].id)) as Asset;
    const requestId = `req-${randomUUID()}`;
    const res = await h.api<Problem & { changesetId: string }>('PATCH', `/v1/assets/${m2.id}`, { config: { unitId: ((await read('asset', m1.id)) as Asset).config.unitId } }, { 'if-match': etagOf('asset', m2), 'x-request-id': requestId });
    expect(res.status).toBe(409);
    const events = await eventsOfRequest(requestId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      outcome: 'refused',
      requestId,
      changesetId: res.body.changesetId,
      siteId: f.site.id,
      actor: { type: 'token', id: actorIdOf(TOKEN) },
      violations: res.body.violations,
    });
    expect(events[0].violations).toEqual([expect.objectContaining({ code: 'UNIT_ID_TAKEN', assetIds: [m2.id, m1.id] })]);
    const refused = await auditOfSite(h.api, f.site.id, { outcome: 'refused' });
    expect(refused.map((e) => e.id)).toContain(events[0].id);
    expect(((await read('asset', m2.id)) as Asset).version).toBe(m2.version);
  });
});

describe('reading the audit log', () => {
  it("shows an asset's history, newest first, with the same events as the site log", async () => {
    const meter = f.meters[0];
    const history = await h.api<Page<AuditEvent>>('GET', `/v1/assets/${meter.id}/history`);
    expect(history.status).toBe(200);
    expect(history.body.items.map((e) => e.action)).toEqual(['update', 'update', 'create']);
    const fromSite = (await auditOfSite(h.api, f.site.id, { entityId: meter.id })).map((e) => e.id);
    expect(history.body.items.map((e) => e.id)).toEqual(fromSite);
    expect(history.body.items[2].after).toMatchObject({ id: meter.id, version: 1, config: meterConfig(1) });
  });

  it('answers 404 for the history of anything that is not an asset (a site, here), so it cannot bypass audit.read', async () => {
    const history = await h.api<Page<AuditEvent>>('GET', `/v1/assets/${f.site.id}/history`);
    expect(history.status).toBe(404);
  });

  it('filters by actor and action', async () => {
    const mine = await auditOfSite(h.api, f.site.id, { actorId: actorIdOf(TOKEN), action: 'delete' });
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((e) => e.action === 'delete')).toBe(true);
    expect(await auditOfSite(h.api, f.site.id, { actorId: 'token:someone-else' })).toEqual([]);
  });

  it('pages through the log with each event exactly once', async () => {
    const all = await auditOfSite(h.api, f.site.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: Page<AuditEvent> } = await h.api<Page<AuditEvent>>('GET', `/v1/audit?siteId=${f.site.id}&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.items.map((e) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.map((e) => e.id));
  });

  it('exports the same events as NDJSON', async () => {
    const all = await auditOfSite(h.api, f.site.id);
    const res = await h.api('GET', `/v1/audit?siteId=${f.site.id}&format=ndjson`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = res.text.trimEnd().split('\n').map((l) => JSON.parse(l) as AuditEvent);
    expect(lines).toEqual(all);
  });

  it('exports the same events as CSV, one row each', async () => {
    const all = await auditOfSite(h.api, f.site.id);
    const res = await h.api('GET', `/v1/audit?siteId=${f.site.id}&format=csv`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const [header, ...rows] = parseCsv(res.text);
    expect(header).toEqual(expect.arrayContaining(['at', 'requestId', 'changesetId', 'entityId', 'action', 'outcome', 'diff', 'violations', 'hash']));
    const col = (name: string) => header.indexOf(name);
    expect(rows).toHaveLength(all.length);
    expect(rows.map((r) => r[col('hash')])).toEqual(all.map((e) => e.hash));
    expect(rows.map((r) => r[col('requestId')])).toEqual(all.map((e) => e.requestId ?? ''));
    const refused = rows.find((r) => r[col('outcome')] === 'refused');
    expect(JSON.parse(refused?.[col('violations')] ?? 'null')).toEqual(all.find((e) => e.outcome === 'refused')?.violations);
    const updated = rows.find((r) => r[col('action')] === 'update');
    expect(JSON.parse(updated?.[col('diff')] ?? '[]').length).toBeGreaterThan(0);
  });

  it('refuses a filter the database could not take with 422 in every format, before an export sends anything', async () => {
    for (const from of ['2024-06-30T23:59:60Z', '0000-01-01T00:00:00Z']) {
      for (const format of ['json', 'ndjson', 'csv']) {
        const res = await h.api<Problem>('GET', `/v1/audit?siteId=${f.site.id}&format=${format}&from=${encodeURIComponent(from)}`);
        expect([from, format, res.status, res.body?.code]).toEqual([from, format, 422, 'VALIDATION_FAILED']);
        expect(res.body.errors).toEqual([expect.objectContaining({ in: 'querystring', path: '/from' })]);
      }
    }
  });

  it('names every bad filter field in its one 422', async () => {
    const res = await h.api<Problem>('GET', `/v1/audit?from=${encodeURIComponent('2024-06-30T23:59:60Z')}&to=${encodeURIComponent('0000-01-01T00:00:00Z')}&format=csv`);
    expect(res.status).toBe(422);
    expect(res.body.errors?.map((e) => e.path)).toEqual(['/from', '/to']);
  });

  it('takes the earliest and latest dates PostgreSQL holds as filters', async () => {
    for (const [from, to] of [['0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z'], ['1900-01-01T00:00:00Z', '2999-01-01T00:00:00Z']]) {
      const res = await h.api<Page<AuditEvent>>('GET', `/v1/audit?siteId=${f.site.id}&from=${from}&to=${to}&limit=1`);
      expect([from, res.status]).toEqual([from, 200]);
      expect(res.body.items).toHaveLength(1);
    }
  });

  it('matches an entity or actor id sent in upper case', async () => {
    const [event] = await auditOfSite(h.api, f.site.id, { entityType: 'asset' });
    const res = await h.api<Page<AuditEvent>>('GET', `/v1/audit?entityId=${event.entityId.toUpperCase()}&limit=1000`);
    expect(res.status).toBe(200);
    expect(res.body.items.map((e) => e.id)).toContain(event.id);
  });
});

describe('the audit log is tamper-evident', () => {
  it('verifies the hash chains of every scope and of the site', async () => {
    const all = await h.api<{ ok: boolean; events: number; problems: object[] }>('GET', '/v1/audit/verify');
    expect(all.body).toMatchObject({ ok: true, problems: [] });
    expect(all.body.events).toBeGreaterThan(10);
    const site = await h.api<{ ok: boolean; events: number }>('GET', `/v1/audit/verify?siteId=${f.site.id}`);
    expect(site.body.ok).toBe(true);
    expect(site.body.events).toBe((await auditOfSite(h.api, f.site.id)).length);
  });

  it('is append-only in the database: UPDATE and DELETE are refused', async () => {
    const count = async () => (await h.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM audit.events')).rows[0].n;
    const before = await count();
    await expect(h.db.pool.query(`UPDATE audit.events SET comment = 'rewritten'`)).rejects.toMatchObject({ code: '42501' });
    await expect(h.db.pool.query(`DELETE FROM audit.events`)).rejects.toMatchObject({ code: '42501' });
    expect(await count()).toBe(before);
    expect((await h.api<{ ok: boolean }>('GET', '/v1/audit/verify')).body.ok).toBe(true);
  });

  it('reports an event edited behind the trigger', async () => {
    const [event] = await auditOfSite(h.api, f.site.id, { action: 'create', entityType: 'asset' });
    const client = await h.db.pool.connect();
    try {
      await client.query('ALTER TABLE audit.events DISABLE TRIGGER events_refuse_update_delete');
      await client.query(`UPDATE audit.events SET comment = 'nothing to see' WHERE id = $1`, [event.id]);
      await client.query('ALTER TABLE audit.events ENABLE ALWAYS TRIGGER events_refuse_update_delete');
    } finally {
      client.release();
    }
    const res = await h.api<{ ok: boolean; problems: Array<{ eventId: string; problem: string }> }>('GET', `/v1/audit/verify?siteId=${f.site.id}`);
    expect(res.body.ok).toBe(false);
    expect(res.body.problems).toEqual([expect.objectContaining({ eventId: event.id, problem: 'hash-mismatch' })]);
  });
});

/** RFC 4180: quoted cells may hold commas, quotes (doubled) and newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  const endCell = () => {
    row.push(cell);
    cell = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (!quoted && c === ',') {
      endCell();
    } else if (!quoted && c === '\n') {
      endCell();
      rows.push(row);
      row = [];
    } else {
      cell += c;
    }
  }
  if (cell !== '' || row.length > 0) {
    endCell();
    rows.push(row);
  }
  return rows;
}

describe('the history of an unknown asset', () => {
  it('answers 404 whatever cursor is sent with it', async () => {
    const first = await h.api<Page<AuditEvent>>('GET', `/v1/assets/${f.meters[0].id}/history?limit=1`);
    const cursor = first.body.nextCursor;
    expect(cursor).not.toBeNull();
    const unknown = await h.api('GET', `/v1/assets/${crypto.randomUUID()}/history?cursor=${encodeURIComponent(String(cursor))}`);
    expect(unknown.status).toBe(404);
  });
});
