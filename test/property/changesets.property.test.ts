import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../src/db/test-database.ts';
import { networkProblem } from '../../src/core/changes/network.ts';
import { buildServer, type Server } from '../../src/server.ts';
import { writeSequenceArb, type ChangeSetIntent, type Intent } from './intent-arbitraries.ts';
import { RunWorld, type WriteRequest } from './resolve-intents.ts';
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
/** As the lifecycle service: recording what a device acknowledged is an internal, service-only route. */
let service: SiteApi;
let runs = 0;
const seen = new Map<number, number>();

beforeAll(async () => {
  db = await createTestDatabase();
  server = await buildServer({ databaseUrl: db.url, token: TOKEN });
  api = siteApi(server.app, TOKEN);
  service = siteApi(server.app, await server.admin.serviceToken('lifecycle'));
});

afterAll(async () => {
  await server?.close();
  await db?.drop();
});

async function send(siteId: string, req: WriteRequest): Promise<Reply> {
  if (req.t === 'changeset') return api.call('POST', `/v1/sites/${siteId}/changesets`, { operations: req.operations });
  return (req.url.startsWith('/v1/internal/') ? service : api).call(req.method, req.url, req.body, req.ifMatch ? { 'if-match': req.ifMatch } : {});
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
    if (!ANSWERS.has(reply.status)) fail(`the write answered ${reply.status}`, reply.body);

    const after = await api.graph(site.id);
    if (reply.status >= 300 && !isDeepStrictEqual(after, graph)) fail('a refused write changed the stored site', { before: graph, after });

    const errors = (await api.validate(site.id)).filter((v) => v.severity === 'error');
    if (errors.length > 0) fail('the stored site breaks rules', errors);
    const network = networkProblem(after.site.network);
    if (network) fail('the stored site network is not one POST /v1/sites would accept', { network: after.site.network, problem: network });

    const replayed = replayAudit(await api.auditLog(site.id));
    if (!isDeepStrictEqual(replayed.assets, after.assets) || !isDeepStrictEqual(replayed.connections, after.connections)) {
      fail('replaying the audit log does not give the stored site', { replayed, stored: { assets: after.assets, connections: after.connections } });
    }
    graph = after;
  }
}

const onBus = (name: number, unitId: number): Intent => ({
  t: 'busDevice',
  kind: 'meter',
  model: 0,
  name,
  parent: 0,
  port: 0,
  anyPort: false,
  unitId,
  serial: { baud: 19200, parity: 'even', stopBits: 1 },
  poll: 3,
  onIp: false,
  ip: 0,
});

/**
 * Found while writing this property, kept as a fixed example: meter A takes unit id 1, moves to
 * 2, meter B takes the free 1, then A's device acknowledges version 1 (a rollback). Nothing
 * refuses the acknowledgement, and the stored site then has unit id 1 claimed twice on one bus
 * (bus-unit-id-unique checks a touched device's desired id, not the deployed one it now claims;
 * ip-unique and channel-single-sensor do the same). Fails until those rules are fixed.
 */
const ROLLBACK_ACK: ChangeSetIntent[] = [
  { t: 'changeset', rest: false, intents: [onBus(0, 0)] },
  { t: 'changeset', rest: false, intents: [{ t: 'unitId', target: 1, unitId: 1, stale: 'fresh' }] },
  { t: 'changeset', rest: false, intents: [onBus(1, 0)] },
  { t: 'deployed', target: 0, mode: 'older', older: 0 },
];

/**
 * Also found while writing this property, and fixed: a site PATCH of the router alone committed
 * a router outside the subnet and only then answered 422; a change set's updateSite stored it
 * with 201.
 */
const ROUTER_OUTSIDE: ChangeSetIntent[] = [
  { t: 'changeset', rest: true, intents: [{ t: 'site', subnet: null, router: 2, stale: 'fresh' }] },
  { t: 'changeset', rest: false, intents: [{ t: 'site', subnet: 4, router: null, stale: 'fresh' }] },
  { t: 'changeset', rest: false, intents: [{ t: 'site', subnet: null, router: 2, stale: 'fresh' }] },
  { t: 'changeset', rest: true, intents: [{ t: 'site', subnet: 3, router: 0, stale: 'fresh' }] },
];

describe('change sets against one site, at random', () => {
  it('keep the stored site valid, its audit log replayable, and refusals without effect', async () => {
    // PROPERTY_RUNS=500 searches longer; fast-check prints the seed and path of any failure.
    await fc.assert(fc.asyncProperty(writeSequenceArb({ minLength: 5, maxLength: 15 }), runSequence), {
      numRuns: Number(process.env.PROPERTY_RUNS ?? 25),
      examples: [[ROUTER_OUTSIDE], [ROLLBACK_ACK]],
    });

    // The property is only as good as the mix of answers it saw: both accepted and refused writes.
    const count = (...statuses: number[]) => statuses.reduce((n, s) => n + (seen.get(s) ?? 0), 0);
    expect(count(200, 201, 204)).toBeGreaterThan(20);
    expect(count(409)).toBeGreaterThan(5);
    expect(count(412)).toBeGreaterThan(0);
  }, 180_000);
});
