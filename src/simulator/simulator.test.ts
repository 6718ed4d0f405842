import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssetViewData } from '../core/changes/views.ts';
import { configHash } from '../core/config-hash.ts';
import { closeMqtt, connectMqtt, publishJson, waitForConnection, type MqttClient } from '../mqtt/client.ts';
import { parseAck, parseReported } from '../mqtt/payloads.ts';
import { desiredTopic, reportedTopic, TOPIC_ROOT, type AckPayload, type ReportedPayload } from '../mqtt/topics.ts';
import { startSimulator, type SimulatorHandle } from './simulator.ts';

const MQTT_URL = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
const code = `SIM-${randomUUID().slice(0, 8).toUpperCase()}`;
const site = { id: randomUUID(), orgId: randomUUID(), code, name: code, timezone: 'UTC', network: { subnet: '10.0.0.0/24', router: '10.0.0.1' }, revision: 1, version: 1 };
const asset = (kind: AssetViewData['kind'], name: string, parentId: string | null): AssetViewData => ({
  id: randomUUID(), siteId: site.id, kind, modelId: 'm', name, serial: null, status: 'active', firmware: null, parentId, port: null, config: {}, configVersion: 1, deployedVersion: null, version: 1,
});
const gwA = asset('gateway', 'GW-A', null);
const gwB = asset('gateway', 'GW-B', null);
const meter = asset('meter', 'M-1', gwA.id);
const api = async (path: string) => (path.startsWith('/v1/sites?') ? { items: [site], nextCursor: null } : { site, assets: [meter, gwB, gwA], connections: [] });

let sim: SimulatorHandle;
let rema: MqttClient;
const acks: AckPayload[] = [];
const states = new Map<string, ReportedPayload>();

beforeAll(async () => {
  sim = await startSimulator({ siteCode: code, api, mqttUrl: MQTT_URL, latencyMs: 10, offlineGateways: 1 });
  rema = connectMqtt(MQTT_URL, { clientIdPrefix: 'rema-test' });
  await waitForConnection(rema, 5000);
  rema.on('message', (topic, message) => {
    if (topic.includes('/ack/')) acks.push(parseAck(message) as AckPayload);
    else if (message.length > 0) states.set(topic, parseReported(message) as ReportedPayload);
  });
  await rema.subscribeAsync([`${TOPIC_ROOT}/${code}/gateways/+/ack/+`, `${TOPIC_ROOT}/${code}/gateways/+/state/+`], { qos: 1 });
});
afterAll(async () => {
  await sim?.stop();
  for (const topic of [...states.keys(), desiredTopic(code, gwA.id, meter.id), desiredTopic(code, gwA.id, gwA.id)]) await publishJson(rema, topic, null, { retain: true });
  if (rema) await closeMqtt(rema);
});

const until = async <T>(probe: () => T | undefined): Promise<T> => {
  for (let i = 0; i < 200; i++) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('timed out');
};

describe('the simulator', () => {
  it('plays each gateway of the site, with its assets; the first N by name stay offline', () => {
    expect(sim.gateways).toEqual([
      { id: gwA.id, name: 'GW-A', assetIds: [meter.id, gwA.id], online: false },
      { id: gwB.id, name: 'GW-B', assetIds: [gwB.id], online: true },
    ]);
  });

  it('applies a configuration: retained reported state and an applied ack; answers a redelivery the same way', async () => {
    await sim.setOnline(gwA.id, true);
    const config = { unitId: 6 };
    const desired = { deploymentId: randomUUID(), assetId: meter.id, version: 2, hash: configHash(config), config };
    await publishJson(rema, desiredTopic(code, gwA.id, meter.id), desired, { retain: true });
    const ack = await until(() => acks.find((a) => a.deploymentId === desired.deploymentId));
    expect(ack).toEqual({ deploymentId: desired.deploymentId, assetId: meter.id, version: 2, status: 'applied', error: null });
    expect(await until(() => states.get(reportedTopic(code, gwA.id, meter.id)))).toEqual({ assetId: meter.id, version: 2, hash: desired.hash });

    await publishJson(rema, desiredTopic(code, gwA.id, meter.id), desired, { retain: true });
    await until(() => (acks.filter((a) => a.deploymentId === desired.deploymentId).length === 2 ? true : undefined));
    expect(sim.running().get(meter.id)).toEqual({ assetId: meter.id, version: 2, hash: desired.hash });
  });

  it('rejects a configuration that does not match its hash, and reports nothing for it', async () => {
    const desired = { deploymentId: randomUUID(), assetId: gwA.id, version: 4, hash: configHash({ other: true }), config: { hostname: 'gw-a' } };
    await publishJson(rema, desiredTopic(code, gwA.id, gwA.id), desired, { retain: true });
    const ack = await until(() => acks.find((a) => a.deploymentId === desired.deploymentId));
    expect(ack).toMatchObject({ status: 'rejected', error: 'configuration does not match its hash' });
    expect(states.get(reportedTopic(code, gwA.id, gwA.id))).toBeUndefined();
  });
});
