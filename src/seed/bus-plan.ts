import type { DeviceModel } from '../core/catalog/types.ts';
import { pollSeconds } from '../core/rules/bus-poll-budget.ts';
import type { Rng } from './prng.ts';

/**
 * Serial line settings and a gateway's bus entry. Declared here rather than taken from the
 * catalog's TypeBox schemas, whose static type of `baud` (a union of numeric literals built
 * with `map`) comes out as `never`.
 */
export interface SerialSettings {
  baud: number;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
}
export interface BusConfig extends SerialSettings {
  protocol: 'modbus-rtu' | 'bacnet-mstp';
  maxDevices: number;
  maxMaster?: number;
}

/** One end of a cable: an asset and one of its ports. */
export interface CableEnd {
  assetId: string;
  port: string;
}

/**
 * Margins the planner keeps below what the rules allow, so a seeded fleet raises no warnings
 * either: bus utilisation warns above 60 %, a segment above 90 % of its cable limit.
 */
export const BUS_LIMITS = {
  utilisation: 0.5,
  segmentShare: 0.85,
  devices: 32,
} as const;

/** TIA/EIA-485 guidance as in bus-cable-length: 1,200 m up to 100 kbit/s, less above. */
const segmentLimitM = (baud: number) => Math.min(1200, (1200 * 100_000) / baud);

/** The house standards commissioning engineers pick for Modbus RTU segments. */
const MODBUS_SETTINGS: ReadonlyArray<readonly [SerialSettings, number]> = [
  [{ baud: 19200, parity: 'even', stopBits: 1 }, 60],
  [{ baud: 9600, parity: 'none', stopBits: 2 }, 25],
  [{ baud: 38400, parity: 'even', stopBits: 1 }, 15],
];
const MSTP_SETTINGS: ReadonlyArray<readonly [SerialSettings, number]> = [
  [{ baud: 38400, parity: 'none', stopBits: 1 }, 50],
  [{ baud: 76800, parity: 'none', stopBits: 1 }, 50],
];

export type BusProtocol = BusConfig['protocol'];

/** One RS-485 port of a planned gateway and what is on it so far. */
export class BusPlan {
  devices = 0;
  unitLoads = 0;
  utilisation = 0;
  cableM = 0;
  /** The RS-485 port of the last device on the daisy chain, where the next cable starts. */
  lastEnd: CableEnd | null = null;
  highestMac = 0;
  private nextAddress = 1;

  constructor(
    readonly port: string,
    readonly protocol: BusProtocol,
    readonly serial: SerialSettings,
    /** Unit loads the port drives (its rs485 capacity in the catalog). */
    readonly capacity: number,
  ) {}

  static random(rng: Rng, port: string, protocol: BusProtocol, capacity: number): BusPlan {
    return new BusPlan(port, protocol, { ...rng.weighted(protocol === 'bacnet-mstp' ? MSTP_SETTINGS : MODBUS_SETTINGS) }, capacity);
  }

  /** Cable the segment may still take while staying clear of the near-limit warning. */
  get cableRoomM(): number {
    return BUS_LIMITS.segmentShare * segmentLimitM(this.serial.baud) - this.cableM;
  }

  /** Share of bus time one device of `model` takes when polled every `intervalMs`. */
  shareOf(model: DeviceModel, intervalMs: number): number {
    if (this.protocol !== 'modbus-rtu' || !model.poll) return 0;
    return pollSeconds(model.poll, this.serial.baud) / (intervalMs / 1000);
  }

  /** Whether one more device of `model`, polled every `intervalMs`, with `hopM` of cable, fits. */
  fits(model: DeviceModel, intervalMs: number, hopM: number): boolean {
    return (
      this.devices + 1 <= BUS_LIMITS.devices &&
      this.unitLoads + (model.unitLoad ?? 1) <= this.capacity &&
      this.utilisation + this.shareOf(model, intervalMs) <= BUS_LIMITS.utilisation &&
      hopM <= this.cableRoomM
    );
  }

  /**
   * Takes the next free address on the bus (a Modbus unit id or an MS/TP MAC), now and then
   * leaving a gap the way addresses are handed out on site, and books the device's load.
   */
  add(rng: Rng, model: DeviceModel, intervalMs: number, hopM: number, end: CableEnd): number {
    const address = this.nextAddress;
    this.nextAddress += rng.chance(0.1) ? 2 : 1;
    this.devices++;
    this.unitLoads += model.unitLoad ?? 1;
    this.utilisation += this.shareOf(model, intervalMs);
    this.cableM += hopM;
    this.lastEnd = end;
    if (this.protocol === 'bacnet-mstp') this.highestMac = Math.max(this.highestMac, address);
    return address;
  }

  /** The gateway's `config.buses[port]` entry. */
  config(): BusConfig {
    const out: BusConfig = { protocol: this.protocol, ...this.serial, maxDevices: BUS_LIMITS.devices };
    // Max_Master tuned down to the highest MAC (rounded up to a multiple of 8) shortens token rotation.
    if (this.protocol === 'bacnet-mstp' && this.highestMac > 0) out.maxMaster = Math.min(127, Math.ceil((this.highestMac + 1) / 8) * 8);
    return out;
  }
}
