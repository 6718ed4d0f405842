/** Kinds of asset and where each may sit in the hierarchy. */
export type AssetKind = 'gateway' | 'controller' | 'meter' | 'sensor';

/** Electrical signal of an analog/point port or of a sensor's output. */
export type Signal = '4-20mA' | '0-10V' | 'ntc10k' | 'pt1000' | 'dry-contact' | 'relay';

/** Secondary of a current transformer, and what a meter's CT input accepts. */
export type CtSecondary = '5A' | '1A' | '333mV';

export type Protocol = 'modbus-rtu' | 'modbus-tcp' | 'bacnet-ip' | 'bacnet-mstp' | 'mqtt';

/**
 * A physical port of a device model.
 * - `rs485`: a serial bus; takes several connections/children up to `capacity` unit loads.
 * - `ethernet`: an IP interface.
 * - `ai` / `ao` / `di` / `do`: point channels that take exactly one sensor or actuator;
 *   `signals` lists what the channel can be configured for.
 */
export type PortType = 'rs485' | 'ethernet' | 'ai' | 'ao' | 'di' | 'do';

export interface PortSpec {
  name: string;
  type: PortType;
  /** rs485: unit loads the transceiver can drive (32 standard); point ports: 1. */
  capacity: number;
  /** Point channels: the signal types the channel can be configured for. */
  signals?: Signal[];
}

/** A feature that needs at least some firmware version to be enabled. */
export interface Capability {
  name: string;
  /** Minimum firmware (semver `x.y.z`) that enables it. */
  minFirmware: string;
}

export interface DeviceModel {
  /** Stable catalog id, e.g. `nexa-gw-400`. */
  id: string;
  vendor: string;
  model: string;
  kind: AssetKind;
  description: string;
  ports: PortSpec[];
  /** Protocols and other features, each with the firmware that enables it. */
  capabilities: Capability[];
  /** Firmware versions published for the model, oldest first. */
  firmware: string[];
  /** Bus devices: unit loads this device puts on an RS-485 segment (1, 0.5, 0.25, 0.125). */
  unitLoad?: number;
  /** Data points this device contributes to its gateway's point budget. */
  points?: number;
  /** Bus devices: bytes of one poll request and of its response, and turnaround in ms. */
  poll?: { requestBytes: number; responseBytes: number; turnaroundMs: number };
  /** Gateways: maximum points it can poll, and the shortest poll interval it supports. */
  gateway?: { pointCapacity: number; minPollIntervalMs: number };
  /** Meters: what the CT inputs accept and the largest current per phase they read. */
  meter?: { ctSecondary: CtSecondary[]; maxPhases: 1 | 3 };
  /** Sensors: what is measured, its unit, its physical range, and its output signal(s). */
  sensor?: {
    measurand: string;
    unit: string;
    range: { min: number; max: number };
    outputs: Array<Signal | 'modbus-rtu'>;
  };
}
