import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../src/db/test-database.ts';
import { buildServer, type Server } from '../../src/server.ts';
import { RunWorld, writeSequenceArb, type ChangeSetIntent, type WriteRequest } from './changeset-intents.ts';
import { replayAudit, siteApi, type Reply, type SiteApi, type SiteGraphView } from './site-api.ts';

/**
 * Random sequences of change sets against one site over the real HTTP API and PostgreSQL.
 * Whatever each write answers, the stored site must stay valid, the audit log must replay to
 * exactly the stored assets and cables, and a refused write must leave no trace in the data.
 */
const TOKEN = 'property-test-token';
const ANSWERS = new Set([200, 201, 204, 404, 409, 412, 422]);

let db: TestDatabase;
let server: Server;
let api: SiteApi;
let runs = 0;
const seen = new Map<number, number>();
const codes = new Map<string, number>();

beforeAll(async () => {
  db = await createTestDatabase();
  server = await buildServer({ databaseUrl: db.url, token: TOKEN });
  api = siteApi(server.app, TOKEN);
});

afterAll(async () => {
  await server?.close();
  await db?.drop();
});

async function send(siteId: string, req: WriteRequest): Promise<Reply> {
  if (req.t === 'changeset') return api.call('POST', `/v1/sites/${siteId}/changesets`, { operations: req.operations });
  return api.call(req.method, req.url, req.body, req.ifMatch ? { 'if-match': req.ifMatch } : {});
}

/** One line per write for the failure report: what was sent and what came back. */
function describeWrite(req: WriteRequest, reply: Reply): string {
  const what = req.t === 'changeset' ? `changeset ${JSON.stringify(req.operations)}` : `${req.method} ${req.url}${req.ifMatch ? ` If-Match ${req.ifMatch}` : ''}${req.body === undefined ? '' : ` ${JSON.stringify(req.body)}`}`;
  const violations = Array.isArray(reply.body.violations) ? (reply.body.violations as Array<{ code: string; severity: string }>) : [];
  const why = violations.length ? ` ${violations.map((v) => `${v.code}/${v.severity}`).join(',')}` : reply.status >= 400 ? ` ${String(reply.body.code)}: ${String(reply.body.detail)}` : '';
  return `${what}\n    → ${reply.status}${why}`;
}

async function runSequence(changeSets: ChangeSetIntent[]): Promise<void> {
  const tag = `R${++runs}`;
  const site = await api.createSite(`PROP-${tag}`);
  const world = new RunWorld(tag);
  const transcript: string[] = [];
  const fail = (what: string, detail: unknown) => {
    throw new Error(`${what}\n${JSON.stringify(detail, null, 2)}\n--- writes of this run ---\n${transcript.join('\n')}`);
  };

  const base = await send(site.id, world.baseline());
  if (base.status !== 201) fail('the baseline change set was refused', base.body);
  let graph: SiteGraphView = await api.graph(site.id);
  for (const cs of changeSets) {
    const req = world.resolve(cs, graph);
    if (!req) continue;
    const reply = await send(site.id, req);
    transcript.push(describeWrite(req, reply));
    seen.set(reply.status, (seen.get(reply.status) ?? 0) + 1);
    if (process.env.PROPERTY_STATS) for (const v of (reply.body.violations as Array<{ code: string }> | undefined) ?? []) codes.set(v.code, (codes.get(v.code) ?? 0) + 1);
    if (process.env.PROPERTY_STATS && req.t === 'changeset') for (const o of req.operations) { const k = `${reply.status} ${o.op} ${o.op === 'updateAsset' ? Object.keys(o.patch).join('+') + (o.patch.config ? Object.keys(o.patch.config).join('+') : '') : o.op === 'createAsset' ? o.asset.kind : ''}`; codes.set(k, (codes.get(k) ?? 0) + 1); }
    if (process.env.PROPERTY_STATS && reply.status === 422) codes.set(`422 ${String(reply.body.detail).slice(0, 60)}`, 1);
    if (!ANSWERS.has(reply.status)) fail(`the write answered ${reply.status}`, reply.body);

    const after = await api.graph(site.id);
    if (reply.status >= 300 && !isDeepStrictEqual(after, graph)) fail('a refused write changed the stored site', { before: graph, after });

    const errors = (await api.validate(site.id)).filter((v) => v.severity === 'error');
    if (errors.length > 0) fail('the stored site breaks rules', errors);

    const replayed = replayAudit(await api.auditLog(site.id));
    if (!isDeepStrictEqual(replayed.assets, after.assets) || !isDeepStrictEqual(replayed.connections, after.connections)) {
      fail('replaying the audit log does not give the stored site', { replayed, stored: { assets: after.assets, connections: after.connections } });
    }
    graph = after;
  }
}

describe('change sets against one site, at random', () => {
  it('keep the stored site valid, its audit log replayable, and refusals without effect', async () => {
    await fc.assert(fc.asyncProperty(writeSequenceArb({ minLength: 5, maxLength: 15 }), runSequence), { numRuns: Number(process.env.PROPERTY_RUNS ?? 20) });

    if (process.env.PROPERTY_STATS) console.log(Object.fromEntries(seen), Object.fromEntries(codes));
    // The property is only as good as the mix of answers it saw: both accepted and refused writes.
    const count = (...statuses: number[]) => statuses.reduce((n, s) => n + (seen.get(s) ?? 0), 0);
    expect(count(200, 201, 204)).toBeGreaterThan(20);
    expect(count(409)).toBeGreaterThan(5);
    expect(count(412)).toBeGreaterThan(0);
  }, 180_000);
});
