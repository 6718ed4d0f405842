import type { SiteViewData } from '../core/changes/views.ts';
import type { AckPayload, ReportedPayload } from '../mqtt/topics.ts';
import { GatewaySim, type SimEvent } from './gateway-sim.ts';
import { loadSiteTopology, type SimulatedGateway, type SimulatorApi } from './site-topology.ts';

export type { SimEvent } from './gateway-sim.ts';
export type { SimulatorApi } from './site-topology.ts';

export interface SimulatorOptions {
  /** Code of the site whose gateways to play. */
  siteCode: string;
  /** GETs against the rema API (the site graph is read from there). */
  api: SimulatorApi;
  mqttUrl: string;
  /** Time a device takes to apply a configuration (default 200 ms). */
  latencyMs?: number;
  /** Share (0–1) of configurations a device rejects (default 0). */
  failureRate?: number;
  /** This many gateways (the first by name) never come online (default 0). */
  offlineGateways?: number;
  /** These gateways never come online, in addition to `offlineGateways`. */
  offlineGatewayIds?: string[];
  /** Fixes which configurations are rejected (default 1). */
  seed?: number;
  onEvent?: (e: SimEvent) => void;
  /** How long to wait for the broker per gateway before giving up (default 5 s). */
  connectTimeoutMs?: number;
}

export interface SimulatorHandle {
  site: SiteViewData;
  gateways: Array<SimulatedGateway & { online: boolean }>;
  /** Every ack the gateways have sent, in order. */
  acks(): AckPayload[];
  /** What each device runs now, by asset id. */
  running(): Map<string, ReportedPayload>;
  /** Takes a gateway off the broker (silent: its devices time out) or brings it back. */
  setOnline(gatewayId: string, online: boolean): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Plays a site's gateways against a broker: one MQTT client per gateway, which applies and
 * acknowledges the configurations rema deploys (after a latency, rejecting a seeded share)
 * and publishes what its devices run as retained reported state. For tests and demos.
 *
 * @example
 *   const sim = await startSimulator({ siteCode: 'BER-1', api, mqttUrl: 'mqtt://127.0.0.1:1883', latencyMs: 50 });
 *   // … POST /v1/deployments …
 *   await sim.stop();
 */
export async function startSimulator(opts: SimulatorOptions): Promise<SimulatorHandle> {
  const topology = await loadSiteTopology(opts.api, opts.siteCode);
  const offline = new Set([...topology.gateways.slice(0, opts.offlineGateways ?? 0).map((g) => g.id), ...(opts.offlineGatewayIds ?? [])]);
  const sims = new Map(
    topology.gateways.map((g) => [
      g.id,
      new GatewaySim({
        siteCode: topology.site.code,
        gatewayId: g.id,
        gatewayName: g.name,
        mqttUrl: opts.mqttUrl,
        latencyMs: opts.latencyMs ?? 200,
        failureRate: opts.failureRate ?? 0,
        seed: opts.seed ?? 1,
        onEvent: opts.onEvent,
      }),
    ]),
  );
  const sim = (id: string) => {
    const s = sims.get(id);
    if (!s) throw new Error(`gateway ${id} is not one of site ${topology.site.code}'s`);
    return s;
  };
  const stop = async () => {
    await Promise.all([...sims.values()].map((s) => s.goOffline()));
  };

  const connected = await Promise.all(topology.gateways.filter((g) => !offline.has(g.id)).map((g) => sim(g.id).goOnline(opts.connectTimeoutMs)));
  if (connected.some((ok) => !ok)) {
    await stop();
    throw new Error(`the MQTT broker at ${opts.mqttUrl} did not answer`);
  }

  return {
    site: topology.site,
    get gateways() {
      return topology.gateways.map((g) => ({ ...g, online: sim(g.id).online }));
    },
    acks: () => [...sims.values()].flatMap((s) => s.acks),
    running: () => new Map([...sims.values()].flatMap((s) => [...s.running])),
    async setOnline(gatewayId, online) {
      if (online) await sim(gatewayId).goOnline(opts.connectTimeoutMs);
      else await sim(gatewayId).goOffline();
    },
    stop,
  };
}
