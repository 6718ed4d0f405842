/**
 * MQTT topics and payloads between rema and gateways (see docs/mqtt.md). Gateways are the
 * MQTT clients; each carries the configuration of the devices behind it. Payloads carry their
 * own ids so MQTT 3.1.1 suffices.
 */
export const TOPIC_ROOT = 'rema/sites';

/** Desired configuration of one asset: published retained, QoS 1, by rema. */
export const desiredTopic = (siteCode: string, gatewayId: string, assetId: string) => `${TOPIC_ROOT}/${siteCode}/gateways/${gatewayId}/config/${assetId}`;
/** Acknowledgement of a deployment by the gateway: QoS 1, not retained. */
export const ackTopic = (siteCode: string, gatewayId: string, assetId: string) => `${TOPIC_ROOT}/${siteCode}/gateways/${gatewayId}/ack/${assetId}`;
/** What the device runs now: published retained, QoS 1, by the gateway. */
export const reportedTopic = (siteCode: string, gatewayId: string, assetId: string) => `${TOPIC_ROOT}/${siteCode}/gateways/${gatewayId}/state/${assetId}`;

/** Subscriptions: rema listens to every ack and state; a gateway to its own config topics. */
export const ALL_ACKS = `${TOPIC_ROOT}/+/gateways/+/ack/+`;
export const ALL_STATES = `${TOPIC_ROOT}/+/gateways/+/state/+`;
export const gatewayConfigFilter = (siteCode: string, gatewayId: string) => `${TOPIC_ROOT}/${siteCode}/gateways/${gatewayId}/config/+`;

export interface DesiredPayload {
  deploymentId: string;
  assetId: string;
  version: number;
  hash: string;
  config: Record<string, unknown>;
}

export interface AckPayload {
  deploymentId: string;
  assetId: string;
  version: number;
  status: 'applied' | 'rejected';
  error: string | null;
}

export interface ReportedPayload {
  assetId: string;
  version: number;
  hash: string;
}

export interface ParsedTopic {
  siteCode: string;
  gatewayId: string;
  kind: 'config' | 'ack' | 'state';
  assetId: string;
}

/** Splits a rema topic into its parts, or undefined for anything else. */
export function parseTopic(topic: string): ParsedTopic | undefined {
  const m = /^rema\/sites\/([^/]+)\/gateways\/([^/]+)\/(config|ack|state)\/([^/]+)$/.exec(topic);
  if (!m) return undefined;
  return { siteCode: m[1], gatewayId: m[2], kind: m[3] as ParsedTopic['kind'], assetId: m[4] };
}
