/**
 * Broker outage: the machine's Mosquitto restarted in the middle of deployments run by three
 * rema processes to simulated gateways — twice in one deployment, and once together with a
 * `kill -9` of the instance stepping the other. Each deployment completes or fails cleanly
 * (every target settled, one end step), and no device is marked deployed without its ack.
 * Then hostile input from the broker's side: junk and forged acks and states during a deployment.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/types.ts';
import { closeMqtt, connectMqtt, publishJson, waitForConnection } from '../../src/mqtt/client.ts';
import { parseDesired } from '../../src/mqtt/payloads.ts';
import { ackTopic, gatewayConfigFilter, parseTopic, reportedTopic, type AckPayload, type DesiredPayload } from '../../src/mqtt/topics.ts';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/simulator.ts';
import { meterConfig } from '../api/helpers.ts';
import { clearRetained, restartMosquitto } from '../lifecycle/deployments-fixture.ts';
import { CHAOS_TOKEN, MQTT_URL, startCluster, type Cluster, type Instance } from './cluster.ts';
import { checkNothingLost, reader, type Graph } from './oracle.ts';
import { Recorder } from './recorder.ts';
import { report } from './report.ts';
import { ensureMosquitto } from './services.ts';
import { chaosEnv, createRaceSite, roundRobin } from './workload.ts';

interface Target {
  assetId: string;
  status: string;
  configVersion: number;
}
interface Deployment {
  id: string;
  status: string;
  currentBatch: number;
  batches: number;
  results: Target[];
}

let cluster: Cluster;
const codes: string[] = [];
beforeAll(async () => {
  cluster = await startCluster({ instances: 3 });
});
afterAll(async () => {
  await ensureMosquitto();
  await cluster?.stop();
  await Promise.all(codes.map((c) => clearRetained(c).catch(() => undefined)));
});

const seed = chaosEnv.seed();
let rec = new Recorder(`broker${seed}`, CHAOS_TOKEN);
const balance = roundRobin(() => cluster.instances);
const api = reader(() => cluster.up(), CHAOS_TOKEN);

/** A site with a gateway, a controller with two sensors and `meters` meters (the baseline's three and more). */
async function deployableSite(code: string, meters: number): Promise<Graph> {
  codes.push(code);
  const g = await createRaceSite(rec, balance(), code);
  const gw = g.assets.find((a) => a.kind === 'gateway') as Graph['assets'][number];
  const ops = Array.from({ length: meters - 3 }, (_, i) => ({
    op: 'createAsset',
    asset: { kind: 'meter', modelId: 'voltis-em-340', name: `M-${i + 4}`, parentId: gw.id, port: 'rs485-1', config: meterConfig(i + 4) },
  }));
  const cs = await rec.send(balance(), 0, 'POST', `/v1/sites/${g.site.id}/changesets`, { body: { operations: ops } });
  expect(cs.outcome, cs.text).toBe(201);
  return api.get<Graph>(`/v1/sites/${g.site.id}/graph`);
}

async function deploy(siteId: string): Promise<Deployment> {
  const res = await rec.send<Deployment>(balance(), 0, 'POST', '/v1/deployments', { body: { siteId, batchSize: 3, failureThreshold: 1, timeoutMs: 15_000, comment: 'chaos' } });
  expect(res.outcome, res.text).toBe(201);
  return res.response as Deployment;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const getDeployment = (id: string) => api.get<Deployment>(`/v1/deployments/${id}`);
const settled = (id: string) => waitFor(`deployment ${id} to end`, async () => ((await getDeployment(id)).status === 'running' ? undefined : getDeployment(id)), 120_000);
const batchSent = (id: string, batch: number) => waitFor(`batch ${batch} of ${id} to be sent`, async () => ((await getDeployment(id)).currentBatch >= batch ? true : undefined), 60_000);

/**
 * The invariants of a settled deployment: every target settled; an acked target was
 * acknowledged `applied` for that version and is recorded deployed; no asset is recorded
 * deployed at a version its gateway never acknowledged; the audit trail has one create and one
 * end, as many batch finishes as starts.
 */
async function expectCleanEnd(d: Deployment, acks: AckPayload[], siteId: string): Promise<string[]> {
  const problems: string[] = [];
  if (!['succeeded', 'failed', 'aborted', 'cancelled'].includes(d.status)) problems.push(`deployment ${d.id} ended ${d.status}`);
  const applied = (assetId: string, version: number) => acks.some((a) => a.assetId === assetId && a.version === version && a.status === 'applied');
  const graph = await api.get<Graph>(`/v1/sites/${siteId}/graph`);
  for (const t of d.results) {
    if (!['acked', 'failed', 'timed_out', 'cancelled'].includes(t.status)) problems.push(`target ${t.assetId} left ${t.status}`);
    if (t.status === 'acked' && !applied(t.assetId, t.configVersion)) problems.push(`target ${t.assetId} acked without an applied ack`);
    const asset = graph.assets.find((a) => a.id === t.assetId);
    if (t.status === 'acked' && (asset?.deployedVersion ?? 0) < t.configVersion) problems.push(`target ${t.assetId} acked, asset deployed at ${asset?.deployedVersion}`);
  }
  for (const a of graph.assets) if (a.deployedVersion !== null && !applied(a.id, a.deployedVersion)) problems.push(`asset ${a.name} marked deployed at v${a.deployedVersion} without its ack`);
  const steps = (await api.get<{ items: AuditEvent[] }>(`/v1/audit?siteId=${siteId}&entityId=${d.id}&limit=1000`)).items.map((e) => e.action);
  const n = (s: string) => steps.filter((x) => x === s).length;
  if (n('create') !== 1 || n('finish') + n('abort') + n('cancel') !== 1 || n('start-batch') !== n('finish-batch') || n('start-batch') > d.batches) {
    problems.push(`deployment ${d.id} audit steps: ${[...steps].reverse().join(', ')}`);
  }
  return problems;
}

it('a broker restarted twice during a deployment: it completes or fails cleanly, nothing deployed without its ack', async ({ task }) => {
  const g = await deployableSite(`BROKER-${seed}-1`, 10);
  let sim: SimulatorHandle | undefined;
  try {
    sim = await startSimulator({ siteCode: g.site.code, api: (p) => api.get(p), mqttUrl: MQTT_URL, latencyMs: 300 });
    const d = await deploy(g.site.id);
    const downs: number[] = [];
    await batchSent(d.id, 1);
    downs.push((await restartMosquitto()).downMs);
    await batchSent(d.id, 3);
    downs.push((await restartMosquitto()).downMs);
    const done = await settled(d.id);
    const problems = await expectCleanEnd(done, sim.acks(), g.site.id);
    expect(problems).toEqual([]);
    const acked = done.results.filter((t) => t.status === 'acked').length;
    console.log(`[chaos] broker: deployment ${done.status}, ${acked}/${done.results.length} acked, broker down ${downs.join(', ')} ms, ${sim.acks().length} acks sent`);
    report(task, {
      scenario: 'broker outage: Mosquitto restarted twice during a deployment (3 instances, simulated gateway)',
      tried: `a deployment of ${done.results.length} targets in ${done.batches} batches; broker down ${downs.join(' ms and ')} ms`,
      held: `deployment ${done.status} (${acked}/${done.results.length} acked); every target settled; every deployed version has its applied ack; one create, one end, batch starts = finishes in the audit`,
    });
  } finally {
    await sim?.stop();
  }
});

it('a broker restart and a kill -9 of the instance stepping the deployment: another takes over, nothing deployed without its ack', async ({ task }) => {
  rec = new Recorder(`broker${seed}b`, CHAOS_TOKEN);
  const g = await deployableSite(`BROKER-${seed}-2`, 10);
  let sim: SimulatorHandle | undefined;
  try {
    sim = await startSimulator({ siteCode: g.site.code, api: (p) => api.get(p), mqttUrl: MQTT_URL, latencyMs: 300 });
    const d = await deploy(g.site.id);
    await batchSent(d.id, 1);
    const { rows } = await cluster.db.pool.query<{ runner_id: string | null }>(`SELECT runner_id FROM lifecycle.deployments WHERE id = $1`, [d.id]);
    const owner = cluster.instances.find((i) => i.child?.pid !== undefined && rows[0]?.runner_id?.includes(`-${i.child.pid}-`)) as Instance;
    expect(owner, `the instance of runner ${rows[0]?.runner_id}`).toBeDefined();
    await Promise.all([owner.kill9(), restartMosquitto()]);
    const done = await settled(d.id);
    const problems = await expectCleanEnd(done, sim.acks(), g.site.id);
    expect(problems).toEqual([]);
    const after = await cluster.db.pool.query<{ runner_id: string | null }>(`SELECT runner_id FROM lifecycle.deployments WHERE id = $1`, [d.id]);
    expect(after.rows[0].runner_id ?? '', 'another instance finished it').not.toContain(`-${owner.child?.pid}-`);
    await owner.restart();

    // The configuration side after all of it: valid, replayable, chained (the deployed versions went through the write path).
    const oracle = await checkNothingLost(api, cluster.db.pool, [g.site.id], rec.log);
    expect(oracle.problems).toEqual([]);
    const acked = done.results.filter((t) => t.status === 'acked').length;
    console.log(`[chaos] broker+kill: deployment ${done.status}, ${acked}/${done.results.length} acked, killed ${owner.name}`);
    report(task, {
      scenario: 'broker outage + crash: Mosquitto restarted and the instance stepping the deployment killed (kill -9) at once',
      tried: `a deployment of ${done.results.length} targets; ${owner.name} killed after batch 1 was sent`,
      held: `another instance took it over; deployment ${done.status} (${acked}/${done.results.length} acked); every target settled; every deployed version has its applied ack; audit steps complete; site valid, replay = state, chains verify`,
    });
  } finally {
    await sim?.stop();
  }
});

/** What a hostile client on the broker sends for the desired configuration `d`: junk, and acks and states that must be ignored. */
function hostileMessages(d: DesiredPayload, code: string, gatewayId: string, otherAssetId: string): Array<[string, string | Buffer]> {
  const ack = (over: Record<string, unknown>) => JSON.stringify({ deploymentId: d.deploymentId, assetId: d.assetId, version: d.version, status: 'applied', error: null, ...over });
  const at = ackTopic(code, gatewayId, d.assetId);
  const state = reportedTopic(code, gatewayId, d.assetId);
  return [
    [at, 'not json'],
    [at, '{'],
    [at, 'x'.repeat(256 * 1024)],
    [at, `${'['.repeat(2000)}${']'.repeat(2000)}`],
    [at, Buffer.from([0, 255, 254, 0])],
    [at, ack({ version: d.version + 1 })],
    [at, ack({ deploymentId: randomUUID() })],
    [at, ack({ assetId: otherAssetId })],
    [ackTopic(code, randomUUID(), d.assetId), ack({})],
    [ackTopic(`${code}-X`, gatewayId, d.assetId), ack({})],
    [at, ack({ status: 'applied', error: { nested: true } })],
    // (An ack with an extra field is still an ack — gateways may add fields — so these also carry a wrong id or version.)
    [at, ack({ extra: 'field', deploymentId: randomUUID() })],
    [at, `{"__proto__":{"version":${d.version}},${ack({ version: d.version + 7 }).slice(1)}`],
    [at, ack({ version: 0 })],
    [at, ack({ version: 1e300 })],
    [`rema/sites/${code}/gateways/not-a-uuid/ack/x`, ack({})],
    [state, JSON.stringify({ assetId: d.assetId, version: d.version, hash: 'md5:nope' })],
    [state, JSON.stringify({ assetId: otherAssetId, version: d.version, hash: d.hash })],
    [state, '{"assetId":null}'],
  ];
}

it('hostile MQTT messages during a deployment are ignored, a rejection with unstorable text still fails its target, nothing is deployed without its ack', async ({ task }) => {
  rec = new Recorder(`broker${seed}c`, CHAOS_TOKEN);
  const g = await deployableSite(`MQTTX-${seed}`, 6);
  const code = g.site.code;
  const gatewayId = (g.assets.find((a) => a.kind === 'gateway') as Graph['assets'][number]).id;
  const legit: AckPayload[] = [];
  const answered = new Set<string>();
  let rejected: string | undefined;
  let noise = 0;
  // This test plays the gateway itself: a well-behaved one, with a hostile neighbour on the broker.
  const gateway = connectMqtt(MQTT_URL, { clientIdPrefix: 'rema-chaos-gw' });
  try {
    expect(await waitForConnection(gateway, 5000)).toBe(true);
    const answer = async (d: DesiredPayload) => {
      const key = `${d.deploymentId}/${d.assetId}/${d.version}`;
      if (answered.has(key)) return;
      answered.add(key);
      for (const [topic, payload] of hostileMessages(d, code, gatewayId, g.assets[0].id === d.assetId ? g.assets[1].id : g.assets[0].id)) {
        await gateway.publishAsync(topic, payload, { qos: 1 });
        noise++;
      }
      if (rejected === undefined || rejected === d.assetId) {
        rejected = d.assetId;
        await publishJson(gateway, ackTopic(code, gatewayId, d.assetId), { deploymentId: d.deploymentId, assetId: d.assetId, version: d.version, status: 'rejected', error: 'unit id \u0000 refused \ud800' });
        return;
      }
      await publishJson(gateway, reportedTopic(code, gatewayId, d.assetId), { assetId: d.assetId, version: d.version, hash: d.hash }, { retain: true });
      const ack: AckPayload = { deploymentId: d.deploymentId, assetId: d.assetId, version: d.version, status: 'applied', error: null };
      legit.push(ack);
      await publishJson(gateway, ackTopic(code, gatewayId, d.assetId), ack);
    };
    gateway.on('message', (topic, message) => {
      if (parseTopic(topic)?.kind !== 'config' || message.length === 0) return;
      const d = parseDesired(message);
      if (d) void answer(d);
    });
    await gateway.subscribeAsync(gatewayConfigFilter(code, gatewayId), { qos: 1 });

    const d = await deploy(g.site.id);
    const done = await settled(d.id);
    const problems = await expectCleanEnd(done, legit, g.site.id);
    const failed = done.results.filter((t) => t.status === 'failed');
    expect(problems).toEqual([]);
    expect(failed.map((t) => t.assetId), 'the rejected target failed (not timed out)').toEqual([rejected]);
    expect(done.results.filter((t) => t.status === 'acked')).toHaveLength(done.results.length - 1);
    const { rows } = await cluster.db.pool.query<{ error: string }>(`SELECT error FROM lifecycle.deployment_targets WHERE deployment_id = $1 AND asset_id = $2`, [d.id, rejected]);
    expect(rows[0].error).toContain('rejected by the gateway: unit id \ufffd refused \ufffd');
    for (const i of cluster.instances) expect(i.running, `${i.name} is still running`).toBe(true);
    const oracle = await checkNothingLost(api, cluster.db.pool, [g.site.id], rec.log);
    expect(oracle.problems).toEqual([]);
    report(task, {
      scenario: 'hostile MQTT: junk and forged messages from a client on the broker during a deployment (3 instances)',
      tried: `${noise} messages on the gateway's ack and state topics — not JSON, 256 kB, 2,000-deep, binary, wrong version, unknown deployment, another asset, another gateway or site in the topic, extra fields, __proto__, malformed states — and a rejection whose reason holds NUL and a lone surrogate`,
      held: `all junk ignored; the rejection stored (text cleaned) and its target failed at once, not after a timeout; ${legit.length} targets acked by the real gateway, nothing deployed without its ack; instances up; site valid, replay = state, chains verify`,
    });
  } finally {
    await closeMqtt(gateway);
  }
});
