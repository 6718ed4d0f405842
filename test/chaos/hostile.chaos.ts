/**
 * Hostile input: CHAOS_REQUESTS (default 10,000) generated requests across every operation of
 * `/openapi.json` (test/chaos/hostile-input.ts) against three instances. No answer may be a
 * 5xx, every refusal is a problem document with a code, and nothing stored changes: every
 * write carries a mutation that must get it refused. Then hostile *values* that may well be
 * stored (unicode, control characters, injection strings in free-text fields) in valid writes:
 * either refused with 4xx or stored exactly as sent. In between, a sweep that leaves nothing to
 * chance: a huge string and a huge array at every field of every operation's body.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/types.ts';
import { clearRetained } from '../lifecycle/deployments-fixture.ts';
import { CHAOS_TOKEN, startCluster, type Cluster } from './cluster.ts';
import { buildChaosFixture, okSender, type ChaosFixture } from './fixture.ts';
import { hostile, isRead, NASTY_STRINGS, operationsOf, paths, setAt, target, validRequest, type HostileRequest, type OpenApiOperation } from './hostile-input.ts';
import { checkNothingLost, reader, type Graph } from './oracle.ts';
import { Recorder, tally, type Exchange } from './recorder.ts';
import { counts, report } from './report.ts';
import { changedTables, snapshot } from './snapshot.ts';
import { describeGaps, overlaps, watchStalls } from './stall-watch.ts';
import { chaosEnv, prng, roundRobin } from './workload.ts';

const REQUESTS = chaosEnv.requests(10_000);
const CONCURRENCY = 16;

let cluster: Cluster;
let f: ChaosFixture;
let ops: OpenApiOperation[];
const rec = new Recorder(`hostile${Date.now() % 100_000}`, CHAOS_TOKEN);
const balance = roundRobin(() => cluster.instances);

let ok: ReturnType<typeof okSender>;

beforeAll(async () => {
  cluster = await startCluster({ instances: 3 });
  const doc = await (await fetch(`${cluster.instances[0].url}/openapi.json`)).json();
  ops = operationsOf(doc);
  ok = okSender(rec, balance);
  f = await buildChaosFixture(rec, balance, `HOSTILE-${Date.now() % 100_000}`);
});
afterAll(async () => {
  await cluster?.stop();
  // The fixture's deployment left retained configuration on the shared broker.
  if (f) await clearRetained(f.graph.site.code).catch(() => undefined);
});

interface Outcome {
  req: HostileRequest;
  ex: Exchange;
}

/** A stored snapshot once background work (feeds, the deployment runner) has stopped moving it. */
async function settledSnapshot() {
  let last = await snapshot(cluster.db.pool);
  for (let i = 0; i < 20; i++) {
    await sleep(1000);
    const now = await snapshot(cluster.db.pool);
    if (Object.keys(changedTables(last, now)).length === 0) return now;
    last = now;
  }
  return last;
}

it(`${REQUESTS} hostile requests over every operation: 0 × 5xx, every refusal a problem document, nothing stored changes`, async ({ task }) => {
  const before = await settledSnapshot();
  const phaseStart = new Date();
  const seed = chaosEnv.seed();
  console.log(`[chaos] hostile: seed ${seed} (CHAOS_SEED=${seed} sends the same requests again)`);
  const random = prng(seed);
  const outcomes: Outcome[] = [];
  let next = 0;
  const worker = async (client: number) => {
    for (let i = next++; i < REQUESTS; i = next++) {
      const op = ops[i % ops.length];
      const req = hostile(op, f, random);
      if (req.raw !== undefined && !req.headers['content-type']) req.headers['content-type'] = 'application/json';
      const ex = await rec.send(balance(), client, req.method, target(req), { body: req.raw === undefined ? req.body : undefined, raw: req.raw, headers: req.headers, token: req.token });
      outcomes.push({ req: { ...req, body: undefined, raw: undefined }, ex: { ...ex, text: ex.text?.slice(0, 300), response: typeof ex.outcome === 'number' && ex.outcome >= 400 ? ex.response : undefined, body: undefined } });
    }
  };
  const started = Date.now();
  const stalls = watchStalls(cluster.instances);
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, c) => worker(c + 1))).finally(stalls.stop);
  const took = (Date.now() - started) / 1000;
  console.log(`[chaos] hostile: stalls of the test process: ${describeGaps(stalls.client(), started)}; of the machine: ${describeGaps(stalls.machine(), started)}; of the servers: ${Object.entries(stalls.servers()).map(([name, gaps]) => `${name} ${describeGaps(gaps, started)}`).join(', ')}`);

  const unsendable = outcomes.filter((o) => o.ex.outcome === 'lost' && /UND_ERR_INVALID_ARG|ERR_INVALID/.test(o.ex.error ?? ''));
  const sent = outcomes.filter((o) => !unsendable.includes(o));
  const statuses = tally(sent.map((o) => o.ex));
  const codes = tally(sent.filter((o) => typeof o.ex.outcome === 'number' && o.ex.outcome >= 400).map((o) => ({ outcome: (o.ex.response as { code?: string } | undefined)?.code ?? String(o.ex.outcome) }) as unknown as Exchange));
  console.log(`[chaos] hostile: ${sent.length} requests (${unsendable.length} not sendable by the client) in ${took.toFixed(0)} s; statuses: ${counts(statuses)}`);
  console.log(`[chaos] hostile codes: ${counts(codes)}`);
  for (const o of sent.filter((x) => x.ex.outcome === 409)) console.log(`[chaos] hostile 409: ${o.req.op} [${o.req.mutations.join(' + ')}] ${o.ex.text?.slice(0, 200)}`);

  const describe = (o: Outcome) => `${o.req.op} [${o.req.mutations.join(' + ')}] → ${o.ex.outcome} ${o.ex.error ?? ''} ${o.ex.text?.slice(0, 160) ?? ''}`;
  const fiveHundreds = sent.filter((o) => typeof o.ex.outcome !== 'number' || o.ex.outcome >= 500);
  for (const o of fiveHundreds.filter((x) => x.ex.outcome === 'lost')) {
    const during = [...stalls.client(), ...stalls.machine(), ...(stalls.servers()[o.ex.instance] ?? [])].some((g) => overlaps(g, o.ex.t0, o.ex.t1));
    console.log(`[chaos] hostile lost: ${o.ex.instance} client ${o.ex.client} sent at +${((o.ex.t0 - started) / 1000).toFixed(1)} s, gave up after ${((o.ex.t1 - o.ex.t0) / 1000).toFixed(1)} s${during ? ' (during a stall)' : ''}: ${describe(o).slice(0, 120)}`);
  }
  const notProblems = sent.filter((o) => typeof o.ex.outcome === 'number' && o.ex.outcome >= 400 && (!/^application\/problem\+json/.test(o.ex.contentType ?? '') || !(o.ex.response as { code?: string } | undefined)?.code));
  const slipped = sent.filter((o) => (o.req.mustRefuse || !isRead(ops.find((x) => x.key === o.req.op) as OpenApiOperation)) && typeof o.ex.outcome === 'number' && o.ex.outcome < 400);
  expect({
    'answers 5xx (or none at all)': [...new Set(fiveHundreds.map(describe))].slice(0, 40),
    'refusals that are no problem document with a code': [...new Set(notProblems.map(describe))].slice(0, 20),
    'requests that had to be refused but were not': [...new Set(slipped.map(describe))].slice(0, 20),
  }).toEqual({ 'answers 5xx (or none at all)': [], 'refusals that are no problem document with a code': [], 'requests that had to be refused but were not': [] });
  // No request may stall a server: one request blocking the event loop (a backtracking pattern) stalls every other one.
  const times = sent.map((o) => o.ex.t1 - o.ex.t0).sort((a, b) => a - b);
  const p99 = times[Math.floor(times.length * 0.99)];
  const slowest = sent.reduce((a, b) => (b.ex.t1 - b.ex.t0 > a.ex.t1 - a.ex.t0 ? b : a));
  console.log(`[chaos] hostile latency: p50 ${times[Math.floor(times.length / 2)]} ms, p99 ${p99} ms, max ${times[times.length - 1]} ms (${describe(slowest).slice(0, 160)})`);
  expect(times[times.length - 1], 'the slowest answer').toBeLessThan(10_000);
  const perOp = tally(sent.map((o) => ({ outcome: o.req.op }) as unknown as Exchange));
  expect(ops.filter((op) => (perOp[op.key] ?? 0) < Math.floor(REQUESTS / ops.length / 2)).map((op) => op.key), 'operations that got too few requests').toEqual([]);
  expect(sent.length).toBeGreaterThanOrEqual(REQUESTS * 0.98);

  // Nothing stored changed; what the audit log gained is refusals of these very requests.
  const after = await settledSnapshot();
  expect(changedTables(before, after)).toEqual({});
  const { rows: added } = await cluster.db.pool.query<Pick<AuditEvent, 'outcome' | 'requestId' | 'action' | 'entityType'>>(
    `SELECT outcome, request_id AS "requestId", action, entity_type AS "entityType" FROM audit.events WHERE at >= $1`,
    [phaseStart],
  );
  const byRequest = new Map(sent.map((o) => [o.ex.requestId, o]));
  const newEvents = added.length;
  const explained = (e: (typeof added)[number]) => {
    const status = e.requestId ? byRequest.get(e.requestId)?.ex.outcome : undefined;
    return (e.outcome === 'refused' && status === 409) || (e.outcome === 'denied' && (status === 401 || status === 423));
  };
  expect(added.filter((e) => !explained(e)), 'audit events not explained by a refusal').toEqual([]);

  const oracle = await checkNothingLost(reader(() => cluster.instances, CHAOS_TOKEN), cluster.db.pool, [f.siteId], []);
  expect(oracle.problems).toEqual([]);

  report(task, {
    scenario: `hostile input: ${sent.length} generated requests over all ${ops.length} operations of /openapi.json (3 instances, ${CONCURRENCY} in flight)`,
    tried: `wrong types, missing/extra/unknown fields, invalid JSON, 100-deep, 600 kB and over-1-MiB bodies, 20,000-item arrays, unicode/NUL/lone surrogates/control characters, SQL/template/JNDI injection strings, malformed and stale ETags, forged cursors, malformed ids, wrong content types, bad tokens: ${counts(statuses)}`,
    held: `0 × 5xx; p99 ${p99} ms, none over ${Math.ceil(times[times.length - 1] / 1000)} s; every refusal a problem+json with a code (${Object.keys(codes).length} codes seen); every write refused; stored state byte-identical before and after; ${newEvents} audit events added, all refusals of these requests; site valid, replay = state, chains verify`,
  });
});

// The random run above meets a given (operation, field, size) now and then; one that stalls a
// server must be found every time. Writes go with a stale If-Match where they take one.
it('a huge string or array at every field of every body: answered with 4xx, each within 5 s', async ({ task }) => {
  const HUGE: Array<[string, unknown]> = [
    ['100,000 characters ending in control characters', `${'A'.repeat(100_000)}\u0007\u0007`],
    ['600,000 characters ending in newlines', `${'A'.repeat(600_000)}\n\n`],
    ['20,000-item array', Array.from({ length: 20_000 }, (_, i) => i)],
  ];
  const problems: string[] = [];
  const statuses: Record<string, number> = {};
  let sentCount = 0;
  let slowest = { ms: 0, what: '' };
  for (const op of ops) {
    const base = validRequest(op, f);
    if (base.body === undefined || isRead(op)) continue;
    const headers = base.headers['if-match'] ? { ...base.headers, 'if-match': base.headers['if-match'].replace(/-v\d+"$/, '-v999999"') } : base.headers;
    for (const at of paths(base.body).filter((p) => p.length > 0)) {
      for (const [what, value] of HUGE) {
        const ex = await rec.send(balance(), 0, base.method, target(base), { body: setAt(base.body, at, value), headers });
        sentCount++;
        statuses[String(ex.outcome)] = (statuses[String(ex.outcome)] ?? 0) + 1;
        const ms = ex.t1 - ex.t0;
        const label = `${op.key} /${at.join('/')} ← ${what}`;
        if (ms > slowest.ms) slowest = { ms, what: label };
        if (typeof ex.outcome !== 'number' || ex.outcome < 400 || ex.outcome >= 500) problems.push(`${label} → ${ex.outcome} ${ex.error ?? ex.text?.slice(0, 160) ?? ''}`);
        else if (ms > 5000) problems.push(`${label} took ${ms} ms`);
      }
    }
  }
  expect(problems).toEqual([]);
  expect(sentCount).toBeGreaterThan(100);
  report(task, {
    scenario: 'a huge string (100,000 and 600,000 characters) and a 20,000-item array at every field of every write operation\'s body',
    tried: `${sentCount} requests: ${counts(statuses)}`,
    held: `every one refused with 4xx; slowest ${slowest.ms} ms (${slowest.what})`,
  });
});

it('hostile values in valid writes are refused with 4xx or stored exactly as sent', async ({ task }) => {
  const siteId = f.siteId;
  const statuses: Record<string, number> = {};
  let stored = 0;
  const problems: string[] = [];
  const note = (status: Exchange['outcome']) => (statuses[String(status)] = (statuses[String(status)] ?? 0) + 1);
  const read = async () => (await ok<Graph>('GET', `/v1/sites/${siteId}/graph`)).response as Graph;
  for (const value of NASTY_STRINGS) {
    let g = await read();
    const meter = g.assets.find((a) => a.kind === 'meter') as Graph['assets'][number];
    const cable = g.connections[0];
    const writes: Array<{ what: string; send: () => Promise<Exchange>; check: (g: Graph) => unknown }> = [
      { what: 'asset name', send: () => rec.send(balance(), 0, 'PATCH', `/v1/assets/${meter.id}`, { body: { name: value }, headers: { 'if-match': `"asset-${meter.id}-v${meter.version}"` } }), check: (x) => x.assets.find((a) => a.id === meter.id)?.name },
      { what: 'cable label', send: () => rec.send(balance(), 0, 'PATCH', `/v1/connections/${cable.id}`, { body: { label: value }, headers: { 'if-match': `"connection-${cable.id}-v${cable.version}"` } }), check: (x) => x.connections.find((c) => c.id === cable.id)?.label },
      { what: 'site name', send: () => rec.send(balance(), 0, 'PATCH', `/v1/sites/${siteId}`, { body: { name: value }, headers: { 'if-match': `"site-${siteId}-v${g.site.version}"` } }), check: (x) => x.site.name },
      { what: 'gateway hostname', send: () => rec.send(balance(), 0, 'PATCH', `/v1/assets/${g.assets.find((a) => a.kind === 'gateway')?.id}`, { body: { config: { hostname: value } }, headers: { 'if-match': `"asset-${g.assets.find((a) => a.kind === 'gateway')?.id}-v${g.assets.find((a) => a.kind === 'gateway')?.version}"` } }), check: (x) => x.assets.find((a) => a.kind === 'gateway')?.config.hostname },
      { what: 'change set comment', send: () => rec.send(balance(), 0, 'POST', `/v1/sites/${siteId}/changesets`, { body: { operations: [{ op: 'updateConnection', id: cable.id, expectedVersion: cable.version, patch: { lengthM: 11 } }], comment: value } }), check: () => undefined },
    ];
    for (const w of writes) {
      const ex = await w.send();
      note(ex.outcome);
      if (typeof ex.outcome !== 'number' || ex.outcome >= 500) problems.push(`${w.what} ${JSON.stringify(value).slice(0, 40)} → ${ex.outcome} ${ex.text?.slice(0, 200)}`);
      else if (ex.outcome < 300) {
        stored++;
        g = await read();
        const got = w.check(g);
        if (got !== undefined && got !== value) problems.push(`${w.what} ${JSON.stringify(value).slice(0, 40)} stored as ${JSON.stringify(got).slice(0, 40)}`);
      }
    }
  }
  expect(problems).toEqual([]);
  const oracle = await checkNothingLost(reader(() => cluster.instances, CHAOS_TOKEN), cluster.db.pool, [siteId], rec.log);
  expect(oracle.problems).toEqual([]);
  report(task, {
    scenario: 'hostile values in otherwise valid writes (names, labels, site name, configuration strings, comments)',
    tried: `${NASTY_STRINGS.length} strings × 5 fields: ${counts(statuses)}`,
    held: `0 × 5xx; ${stored} accepted writes stored exactly as sent; the rest refused with 4xx; replay = state (also with unicode in the hashed events); chains verify`,
  });
});
