import { builtinCatalog } from '../core/catalog/catalog.ts';
import type { DeviceModel } from '../core/catalog/types.ts';
import { BusPlan, type BusProtocol, type CableEnd } from './bus-plan.ts';
import { chooseFirmware } from './firmware-choice.ts';
import type { PlannedAsset, PlannedCable } from './plan-types.ts';
import type { SiteContext } from './site-context.ts';
import type { SiteProfile } from './site-identity.ts';

/**
 * Margins below the gateway rules: point capacity warns above 90 %, and the polling budget is
 * 80 % of pointCapacity ÷ minPollIntervalMs points per second.
 */
export const GATEWAY_LIMITS = { pointShare: 0.85, pollRateShare: 0.6 } as const;

/** Buildings whose HVAC often runs BACnet MS/TP on one of the gateway's buses. */
const MSTP_PROFILES = new Set<SiteProfile>(['office', 'school', 'hospital', 'retail']);
const MSTP_SHARE = 0.35;

/** A device to put on one of the gateway's RS-485 buses. */
export interface BusDeviceSpec {
  model: DeviceModel;
  protocol: BusProtocol;
  /** Points the gateway polls through the device (a controller's own plus its wired sensors). */
  points: number;
  /** Acceptable poll intervals, preferred first; a busy bus gets a longer one. */
  intervals: readonly number[];
  /** Cable from the previous device on the chain, in metres. */
  hopM: readonly [number, number];
  /** Index of the bus this kind of device goes to by habit (meters on the first, HVAC on the next). */
  preferredBus: number;
}

export interface BusPlacement {
  bus: BusPlan;
  intervalMs: number;
  hopM: number;
}

/** A gateway being filled: its asset (finished by `finalize`), its buses and its budgets. */
export class GatewayPlan {
  readonly asset: PlannedAsset;
  readonly model: DeviceModel;
  readonly buses: BusPlan[];
  points = 0;
  rate = 0;
  ipDevices = 0;
  private cables = 0;

  constructor(
    private readonly ctx: SiteContext,
    modelId: string,
  ) {
    const model = builtinCatalog().get(modelId);
    if (!model?.gateway) throw new Error(`seed planner: ${modelId} is not a gateway model`);
    this.model = model;
    const rs485 = model.ports.filter((p) => p.type === 'rs485');
    const mstp = rs485.length >= 2 && supports(model, 'bacnet-mstp') && MSTP_PROFILES.has(ctx.profile) && ctx.rng.chance(MSTP_SHARE);
    this.buses = rs485.map((p, i) => BusPlan.random(ctx.rng, p.name, mstp && i === rs485.length - 1 ? 'bacnet-mstp' : 'modbus-rtu', p.capacity));
    const ip = ctx.ips.take('gateway');
    if (!ip) throw new Error(`seed planner: site ${ctx.code} has no free IP address for another gateway`);
    const name = ctx.names.next('GW');
    this.asset = {
      id: ctx.rng.uuid(),
      kind: 'gateway',
      modelId,
      name,
      serial: ctx.serials.next(model.vendor),
      status: 'active',
      firmware: null,
      parentId: null,
      port: null,
      config: { hostname: `${ctx.code}-${name}`.toLowerCase(), ip },
    };
  }

  get hasMstp(): boolean {
    return this.buses.some((b) => b.protocol === 'bacnet-mstp');
  }

  /** Whether the gateway can poll `points` more points every `intervalMs` within its margins. */
  canPoll(points: number, intervalMs: number): boolean {
    const spec = this.model.gateway;
    if (!spec || intervalMs < spec.minPollIntervalMs) return false;
    const budget = (spec.pointCapacity * 1000) / spec.minPollIntervalMs;
    return (
      this.points + points <= GATEWAY_LIMITS.pointShare * spec.pointCapacity &&
      this.rate + (points * 1000) / intervalMs <= GATEWAY_LIMITS.pollRateShare * budget
    );
  }

  /** A bus, poll interval and cable length the device fits with, or undefined when none does. */
  placeOnBus(spec: BusDeviceSpec): BusPlacement | undefined {
    const { rng } = this.ctx;
    const hopM = Math.round(rng.float(spec.hopM[0], spec.hopM[1]) * 2) / 2;
    const n = this.buses.length;
    for (let k = 0; k < n; k++) {
      const bus = this.buses[(spec.preferredBus + k) % n];
      if (bus.protocol !== spec.protocol) continue;
      const intervalMs = spec.intervals.find((i) => this.canPoll(spec.points, i) && bus.fits(spec.model, i, hopM));
      if (intervalMs !== undefined) return { bus, intervalMs, hopM };
    }
    return undefined;
  }

  /** Books a device on its bus and returns its bus address and the cable that chains it on. */
  attachToBus(placement: BusPlacement, spec: BusDeviceSpec, deviceId: string): { address: number; cable: PlannedCable } {
    const { bus, intervalMs, hopM } = placement;
    const port = spec.model.ports.find((p) => p.type === 'rs485')?.name;
    if (!port) throw new Error(`seed planner: ${spec.model.id} has no RS-485 port`);
    const from: CableEnd = bus.lastEnd ?? { assetId: this.asset.id, port: bus.port };
    const address = bus.add(this.ctx.rng, spec.model, intervalMs, hopM, { assetId: deviceId, port });
    this.book(spec.points, intervalMs);
    const cable: PlannedCable = {
      id: this.ctx.rng.uuid(),
      a: from,
      b: { assetId: deviceId, port },
      label: `${this.asset.name} ${bus.port} #${++this.cables}`,
      lengthM: hopM,
    };
    return { address, cable };
  }

  /** Books a device polled over IP. */
  attachOnIp(points: number, intervalMs: number): void {
    this.book(points, intervalMs);
    this.ipDevices++;
  }

  /**
   * Completes the gateway's configuration once everything under it is known: protocols in
   * use, bus settings (MS/TP Max_Master covering the highest MAC), and a firmware that
   * enables them all.
   */
  finalize(): void {
    const { rng } = this.ctx;
    const protocols = ['modbus-rtu', 'mqtt'];
    if (this.ipDevices > 0) protocols.push('modbus-tcp');
    if (this.hasMstp) protocols.push('bacnet-mstp');
    const floor = this.model.gateway?.minPollIntervalMs ?? 1000;
    Object.assign(this.asset.config, {
      protocols,
      pollIntervalMs: Math.max(floor, rng.pick([5000, 10000])),
      ...(this.hasMstp ? { bacnetInstance: this.ctx.nextBacnetInstance() } : {}),
      buses: Object.fromEntries(this.buses.map((b) => [b.port, b.config()])),
    });
    this.asset.firmware = chooseFirmware(rng, this.model, protocols);
  }

  private book(points: number, intervalMs: number) {
    this.points += points;
    this.rate += (points * 1000) / intervalMs;
  }
}

export const supports = (model: DeviceModel, capability: string) => model.capabilities.some((c) => c.name === capability);
