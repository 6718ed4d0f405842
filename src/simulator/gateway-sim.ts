import type { MqttClient } from 'mqtt';
import { configHash } from '../core/config-hash.ts';
import { closeMqtt, connectMqtt, publishJson, waitForConnection } from '../mqtt/client.ts';
import { parseDesired } from '../mqtt/payloads.ts';
import { ackTopic, gatewayConfigFilter, parseTopic, reportedTopic, type AckPayload, type DesiredPayload, type ReportedPayload } from '../mqtt/topics.ts';
import { draw } from './draw.ts';

export type SimEvent =
  | { kind: 'online'; gatewayId: string; gatewayName: string }
  | { kind: 'offline'; gatewayId: string; gatewayName: string }
  | { kind: 'applied' | 'rejected' | 'reacked'; gatewayId: string; gatewayName: string; ack: AckPayload };

export interface GatewaySimOptions {
  siteCode: string;
  gatewayId: string;
  gatewayName: string;
  mqttUrl: string;
  /** Time a device takes to apply a configuration before the ack. */
  latencyMs: number;
  /** Share (0–1) of configurations rejected. */
  failureRate: number;
  seed: number;
  onEvent?: (e: SimEvent) => void;
}

/**
 * One gateway: an MQTT client that subscribes to its configuration topics and, for each
 * desired configuration, waits `latencyMs`, then applies it — publishing an `applied` ack and
 * the retained reported state — or rejects it (hash mismatch, or drawn below `failureRate`).
 * A configuration it has already answered is answered again the same way (redeliveries and
 * republished messages after a restart expect an ack), one in progress is not started twice.
 */
export class GatewaySim {
  private client: MqttClient | undefined;
  /** `deploymentId/assetId/version` → the ack sent, or 'working' while the latency runs. */
  private readonly answers = new Map<string, AckPayload | 'working'>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** What each device of this gateway runs now. */
  readonly running = new Map<string, ReportedPayload>();
  readonly acks: AckPayload[] = [];

  constructor(private readonly opts: GatewaySimOptions) {}

  get online(): boolean {
    return this.client !== undefined;
  }

  /** Connects and subscribes; resolves false when the broker did not answer within `timeoutMs`. */
  async goOnline(timeoutMs = 5000): Promise<boolean> {
    if (this.client) return this.client.connected;
    const client = connectMqtt(this.opts.mqttUrl, { clientIdPrefix: `rema-sim-${this.opts.siteCode}` });
    this.client = client;
    client.on('message', (topic, message) => this.onMessage(topic, message));
    const connected = await waitForConnection(client, timeoutMs);
    if (connected) await client.subscribeAsync(gatewayConfigFilter(this.opts.siteCode, this.opts.gatewayId), { qos: 1 });
    this.emit({ kind: 'online', gatewayId: this.opts.gatewayId, gatewayName: this.opts.gatewayName });
    return connected;
  }

  /** Drops off the broker: work in progress is forgotten, as a gateway losing power would. */
  async goOffline(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const [key, answer] of this.answers) if (answer === 'working') this.answers.delete(key);
    await closeMqtt(client);
    this.emit({ kind: 'offline', gatewayId: this.opts.gatewayId, gatewayName: this.opts.gatewayName });
  }

  private emit(e: SimEvent) {
    this.opts.onEvent?.(e);
  }

  private onMessage(topicName: string, message: Buffer) {
    const topic = parseTopic(topicName);
    if (topic?.kind !== 'config' || message.length === 0) return;
    const desired = parseDesired(message);
    if (!desired || desired.assetId !== topic.assetId) return;
    const key = `${desired.deploymentId}/${desired.assetId}/${desired.version}`;
    const answer = this.answers.get(key);
    if (answer === 'working') return;
    if (answer) {
      void this.sendAck(answer, 'reacked');
      return;
    }
    this.answers.set(key, 'working');
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.apply(key, desired);
    }, this.opts.latencyMs);
    this.timers.add(timer);
  }

  private async apply(key: string, d: DesiredPayload) {
    const base = { deploymentId: d.deploymentId, assetId: d.assetId, version: d.version };
    let ack: AckPayload;
    if (configHash(d.config) !== d.hash) ack = { ...base, status: 'rejected', error: 'configuration does not match its hash' };
    else if (draw(this.opts.seed, d.deploymentId, d.assetId) < this.opts.failureRate) ack = { ...base, status: 'rejected', error: 'simulated failure: device refused the configuration' };
    else {
      ack = { ...base, status: 'applied', error: null };
      const state: ReportedPayload = { assetId: d.assetId, version: d.version, hash: d.hash };
      this.running.set(d.assetId, state);
      await this.publish(reportedTopic(this.opts.siteCode, this.opts.gatewayId, d.assetId), state, true);
    }
    this.answers.set(key, ack);
    await this.sendAck(ack, ack.status);
  }

  private async sendAck(ack: AckPayload, kind: 'applied' | 'rejected' | 'reacked') {
    if (!this.client) return;
    this.acks.push(ack);
    this.emit({ kind, gatewayId: this.opts.gatewayId, gatewayName: this.opts.gatewayName, ack });
    await this.publish(ackTopic(this.opts.siteCode, this.opts.gatewayId, ack.assetId), ack, false);
  }

  /** QoS 1; while the broker is away the client holds the message and sends it on reconnect. */
  private async publish(topic: string, payload: unknown, retain: boolean): Promise<boolean> {
    const client = this.client;
    if (!client) return false;
    try {
      await publishJson(client, topic, payload, { retain, timeoutMs: 30_000 });
      return true;
    } catch {
      return false;
    }
  }
}
