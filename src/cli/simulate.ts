import { startSimulator, type SimEvent } from '../simulator/simulator.ts';
import { apiClient } from './api-client.ts';
import { embeddedBrokerUrl } from './broker-url.ts';

export interface SimulateOptions {
  site: string;
  url: string;
  token?: string;
  mqttUrl?: string;
  latencyMs: number;
  failureRate: number;
  offlineGateways: number;
  seed: number;
  /** Stop after this many seconds (default: until Ctrl-C). */
  duration?: number;
}

/**
 * `rema simulate --site CODE`: plays the site's gateways against the broker until Ctrl-C,
 * printing every ack. The broker is `--mqtt-url`, else MQTT_URL, else the embedded broker of
 * a `rema serve` running from the same data folder.
 */
export async function simulateCommand(opts: SimulateOptions): Promise<number> {
  const mqttUrl = opts.mqttUrl ?? process.env.MQTT_URL ?? embeddedBrokerUrl();
  if (!mqttUrl) {
    console.error('no MQTT broker: pass --mqtt-url, set MQTT_URL, or run from the folder where rema serve keeps ./data');
    return 2;
  }
  const client = apiClient(opts.url, opts.token);
  const api = async (p: string) => {
    const res = await client.request<unknown>('GET', p);
    if (res.status !== 200) throw new Error(`GET ${p} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const started = Date.now();
  const sim = await startSimulator({
    siteCode: opts.site,
    api,
    mqttUrl,
    latencyMs: opts.latencyMs,
    failureRate: opts.failureRate,
    offlineGateways: opts.offlineGateways,
    seed: opts.seed,
    onEvent: print,
  });
  const online = sim.gateways.filter((g) => g.online);
  console.log(`simulating site ${sim.site.code}: ${online.length} of ${sim.gateways.length} gateway(s) online on ${mqttUrl} (${Date.now() - started} ms)`);
  for (const g of sim.gateways) console.log(`  ${g.online ? 'online ' : 'offline'} ${g.name} (${g.id}): ${g.assetIds.length} asset(s)`);
  console.log(`latency ${opts.latencyMs} ms, failure rate ${opts.failureRate}, seed ${opts.seed}; Ctrl-C to stop`);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    if (opts.duration !== undefined) setTimeout(resolve, opts.duration * 1000);
  });
  await sim.stop();
  const acks = sim.acks();
  console.log(`stopped: ${acks.filter((a) => a.status === 'applied').length} applied, ${acks.filter((a) => a.status === 'rejected').length} rejected`);
  return 0;
}

function print(e: SimEvent) {
  const at = new Date().toISOString().slice(11, 23);
  if (e.kind === 'online' || e.kind === 'offline') {
    console.log(`${at} ${e.gatewayName} ${e.kind}`);
    return;
  }
  const { ack } = e;
  const what = e.kind === 'reacked' ? `re-acked ${ack.status}` : e.kind;
  console.log(`${at} ${e.gatewayName} ${what} v${ack.version} for asset ${ack.assetId} (deployment ${ack.deploymentId.slice(0, 8)})${ack.error ? `: ${ack.error}` : ''}`);
}
