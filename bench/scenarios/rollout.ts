import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { closeMqtt, connectMqtt, waitForConnection } from '../../src/mqtt/client.ts';
import { parseTopic, TOPIC_ROOT } from '../../src/mqtt/topics.ts';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/simulator.ts';
import type { Api } from '../lib/http.ts';
import type { SiteRef } from '../lib/fleet.ts';

export interface RolloutOptions {
  api: Api;
  pool: pg.Pool;
  mqttUrl: string;
  sites: SiteRef[];
  /** Time a simulated device takes to apply a configuration. */
  latencyMs: number;
  /** Targets per batch of each site's deployment (rema's default is 10). */
  batchSize?: number;
  timeoutS: number;
  log: (msg: string) => void;
}

export interface RolloutResult {
  targets: number;
  deployments: number;
  gateways: number;
  /** From the first POST /v1/deployments until every device has sent its applied ack. */
  devicesAckedS: number;
  /** … until every deployment succeeded: every ack stored and recorded as deployed by the configuration service. */
  recordedS: number;
  succeeded: number;
  failed: number;
  /** Time to create the deployments (all POSTs answered). */
  createS: number;
}

/**
 * (7) A configuration rollout to the whole fleet: every site's gateways are simulated (one MQTT
 * client per gateway), one deployment per site targets every asset in service, and the clock
 * runs until every device has acknowledged and rema has recorded each acknowledged version.
 */
export async function runRollout(o: RolloutOptions): Promise<RolloutResult> {
  const codes = new Set(o.sites.map((s) => s.code));
  await clearRetained(o.mqttUrl, codes);
  const sims: SimulatorHandle[] = [];
  const getJson = async (path: string) => {
    const res = await o.api.request('GET', path);
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
    return res.body;
  };
  try {
    for (let i = 0; i < o.sites.length; i += 25) {
      const started = await Promise.all(o.sites.slice(i, i + 25).map((s) => startSimulator({ siteCode: s.code, api: getJson, mqttUrl: o.mqttUrl, latencyMs: o.latencyMs, connectTimeoutMs: 20_000 })));
      sims.push(...started);
    }
    const gateways = sims.reduce((n, s) => n + s.gateways.length, 0);
    o.log(`rollout: ${gateways} simulated gateways online for ${sims.length} sites`);

    const t0 = performance.now();
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < o.sites.length) {
          const site = o.sites[next++];
          const res = await o.api.request<{ id: string }>('POST', '/v1/deployments', { siteId: site.id, ...(o.batchSize ? { batchSize: o.batchSize } : {}), comment: 'bench rollout' });
          if (res.status !== 201) throw new Error(`POST /v1/deployments for ${site.code}: ${res.status} ${JSON.stringify(res.body)}`);
          ids.push(res.body.id);
        }
      }),
    );
    const createS = (performance.now() - t0) / 1000;
    const { rows: t } = await o.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM lifecycle.deployment_targets WHERE deployment_id = ANY($1::uuid[])`, [ids]);
    const targets = t[0].n;
    o.log(`rollout: ${ids.length} deployments, ${targets} targets created in ${createS.toFixed(1)} s`);

    let devicesAckedS = NaN;
    let recordedS = NaN;
    let lastLog = 0;
    const deadline = t0 + o.timeoutS * 1000;
    let status = { running: ids.length, succeeded: 0, failed: 0 };
    while (performance.now() < deadline) {
      // Devices of these deployments that have acknowledged (not re-acks, nor acks of older deployments' retained messages).
      const deployments = new Set(ids);
      const applied = new Set(sims.flatMap((s) => s.acks().filter((a) => a.status === 'applied' && deployments.has(a.deploymentId)).map((a) => a.assetId))).size;
      if (Number.isNaN(devicesAckedS) && applied >= targets) devicesAckedS = (performance.now() - t0) / 1000;
      const { rows } = await o.pool.query<{ running: number; succeeded: number; failed: number }>(
        `SELECT count(*) FILTER (WHERE status = 'running')::int AS running, count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
                count(*) FILTER (WHERE status NOT IN ('running', 'succeeded'))::int AS failed
           FROM lifecycle.deployments WHERE id = ANY($1::uuid[])`,
        [ids],
      );
      status = rows[0];
      if (status.running === 0) {
        recordedS = (performance.now() - t0) / 1000;
        if (Number.isNaN(devicesAckedS)) devicesAckedS = recordedS;
        break;
      }
      if (performance.now() - lastLog > 5000) {
        lastLog = performance.now();
        o.log(`rollout: ${((performance.now() - t0) / 1000).toFixed(0)} s, ${applied} of ${targets} devices acknowledged, ${status.succeeded} of ${ids.length} deployments succeeded`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (status.failed > 0 || status.running > 0) {
      // Why, while the database still holds it: the reason of each deployment that did not succeed
      // (or is still running at the deadline), and the first of its targets without an ack.
      const { rows: why } = await o.pool.query<{ status: string; reason: string | null; open: number; targets: string | null }>(
        `SELECT d.status, d.reason,
                (SELECT count(*)::int FROM lifecycle.deployment_targets t WHERE t.deployment_id = d.id AND t.status <> 'acked') AS open,
                (SELECT string_agg(t.asset_id || ' ' || t.status || coalesce(' (' || t.error || ')', '') || ' sent ' || coalesce(to_char(t.sent_at, 'HH24:MI:SS.MS'), '-') ||
                                   ' finished ' || coalesce(to_char(t.finished_at, 'HH24:MI:SS.MS'), '-'), '; ')
                   FROM (SELECT * FROM lifecycle.deployment_targets t WHERE t.deployment_id = d.id AND t.status <> 'acked' ORDER BY t.batch, t.asset_id LIMIT 5) t) AS targets
           FROM lifecycle.deployments d WHERE d.id = ANY($1::uuid[]) AND d.status <> 'succeeded' LIMIT 10`,
        [ids],
      );
      for (const w of why) o.log(`rollout: deployment ${w.status}: ${w.reason ?? 'no reason'}; ${w.open} target(s) not acked, the first: ${w.targets ?? 'none'}`);
    }
    return { targets, deployments: ids.length, gateways, devicesAckedS, recordedS, succeeded: status.succeeded, failed: status.failed, createS };
  } finally {
    await Promise.all(sims.map((s) => s.stop()));
    await clearRetained(o.mqttUrl, codes);
  }
}

/**
 * Removes the retained configurations and reported states of the bench's sites from the
 * broker, so one run's messages never reach the next run's simulated gateways (nor anything else
 * on the broker). A broker may drop part of a large retained replay to a slow subscriber, so it
 * looks again until a look finds nothing (at most five).
 */
export async function clearRetained(mqttUrl: string, siteCodes: Set<string>): Promise<number> {
  let cleared = 0;
  for (let pass = 0; pass < 5; pass++) {
    const found = await clearRetainedOnce(mqttUrl, siteCodes);
    cleared += found;
    if (found === 0) break;
  }
  return cleared;
}

async function clearRetainedOnce(mqttUrl: string, siteCodes: Set<string>): Promise<number> {
  const client = connectMqtt(mqttUrl, { clientIdPrefix: 'rema-bench-clean' });
  try {
    if (!(await waitForConnection(client, 5000))) throw new Error(`no MQTT broker at ${mqttUrl}`);
    const topics = new Set<string>();
    let last = performance.now();
    client.on('message', (topic, message, packet) => {
      const parsed = parseTopic(topic);
      if (packet.retain && message.length > 0 && parsed && parsed.kind !== 'ack' && siteCodes.has(parsed.siteCode)) topics.add(topic);
      last = performance.now();
    });
    await client.subscribeAsync([`${TOPIC_ROOT}/+/gateways/+/config/+`, `${TOPIC_ROOT}/+/gateways/+/state/+`], { qos: 0 });
    // Retained messages arrive right after the subscription; stop once they have dried up.
    while (performance.now() - last < 1000) await new Promise((r) => setTimeout(r, 200));
    await client.unsubscribeAsync([`${TOPIC_ROOT}/+/gateways/+/config/+`, `${TOPIC_ROOT}/+/gateways/+/state/+`]);
    const list = [...topics];
    for (let i = 0; i < list.length; i += 500) {
      await Promise.all(list.slice(i, i + 500).map((t) => client.publishAsync(t, '', { qos: 1, retain: true })));
    }
    return list.length;
  } finally {
    await closeMqtt(client);
  }
}
