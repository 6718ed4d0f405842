import type { Asset } from '../graph/types.ts';
import { busLabel, changedFirst, devicesOn, touchedBuses, type Bus } from './lib/bus-scope.ts';
import { label } from './lib/io-describe.ts';
import { numberOf } from './lib/io-config.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'bus-poll-budget';
/** Modbus RTU frames every character as 11 bits: start, 8 data, parity (or a 2nd stop bit), stop. */
const BITS_PER_CHAR = 11;
/** Above 19200 baud the spec fixes the 3.5-character inter-frame gap at 1.75 ms. */
const FIXED_GAP_ABOVE_BAUD = 19200;
const FIXED_GAP_S = 0.00175;
const MAX_UTILISATION = 0.8;
const HIGH_UTILISATION = 0.6;

interface Load {
  device: Asset;
  pollS: number;
  intervalMs: number;
  share: number;
}

/**
 * Time on a half-duplex RS-485 bus is shared: one master polls one slave at a time, so a bus
 * whose polls add up to more time than there is starves every device on it.
 */
export const busPollBudget: Rule = {
  id: RULE,
  title: 'Modbus bus polling within its time budget',
  description:
    'Estimates how much of the time each Modbus RTU bus a change reaches is busy polling its devices. One poll of a ' +
    'device takes poll = (requestBytes + responseBytes) × 11 / baud + 2 × gap + turnaroundMs / 1000 seconds, with the ' +
    "byte counts and turnaround from the device model's poll profile, 11 bits per RTU character, and gap the 3.5-" +
    'character silent interval before each frame (3.5 × 11 / baud, fixed at 1.75 ms above 19,200 baud, per the Modbus ' +
    "over Serial Line specification). The bus's utilisation is the sum over its devices of poll ÷ (pollIntervalMs / " +
    "1000), using each device's own config.pollIntervalMs (the gateway's config.pollIntervalMs when a device has none). " +
    'Above 80 % the change is refused: retries, timeouts and jitter eat the rest, and polls start to queue behind each ' +
    'other until data goes stale — a slow baud rate with many meters polled every second is a common commissioning ' +
    'fault. Above 60 % a warning is returned. Checked for the bus of every touched device and every bus of a touched ' +
    'gateway; BACnet MS/TP buses (token passing) and buses without a baud rate are not estimated.',
  codes: ['BUS_UTILISATION_EXCEEDED', 'BUS_UTILISATION_HIGH'],
  severity: 'error',
  check(ctx) {
    return touchedBuses(ctx).flatMap((bus) => checkBus(ctx, bus));
  },
};

/** Seconds one poll of a device with this profile occupies the bus. */
export function pollSeconds(profile: { requestBytes: number; responseBytes: number; turnaroundMs: number }, baud: number): number {
  const gap = baud > FIXED_GAP_ABOVE_BAUD ? FIXED_GAP_S : (3.5 * BITS_PER_CHAR) / baud;
  return ((profile.requestBytes + profile.responseBytes) * BITS_PER_CHAR) / baud + 2 * gap + profile.turnaroundMs / 1000;
}

function checkBus(ctx: RuleContext, bus: Bus): Violation[] {
  const baud = bus.settings?.baud;
  if (bus.settings?.protocol !== 'modbus-rtu' || !baud) return [];
  const gatewayInterval = numberOf(bus.gateway.config.pollIntervalMs);
  const loads: Load[] = [];
  for (const device of devicesOn(ctx, bus)) {
    const profile = ctx.catalog.get(device.modelId)?.poll;
    const intervalMs = numberOf(device.config.pollIntervalMs) ?? gatewayInterval;
    if (!profile || !intervalMs || intervalMs <= 0) continue;
    const pollS = pollSeconds(profile, baud);
    loads.push({ device, pollS, intervalMs, share: pollS / (intervalMs / 1000) });
  }
  const utilisation = loads.reduce((sum, l) => sum + l.share, 0);
  if (utilisation <= HIGH_UTILISATION) return [];

  const heaviest = loads.reduce((a, b) => (b.share > a.share ? b : a));
  const detail =
    `${busLabel(bus)} would be busy ${pct(utilisation)} of the time at ${baud} baud polling ${loads.length} devices; the heaviest is ` +
    `${label(heaviest.device)} (${ms(heaviest.pollS)} per poll every ${heaviest.intervalMs} ms, ${pct(heaviest.share)})`;
  const assetIds = changedFirst(ctx, [bus.gateway.id, ...loads.map((l) => l.device.id)]);
  const exceeded = utilisation > MAX_UTILISATION;
  return [
    {
      rule: RULE,
      code: exceeded ? 'BUS_UTILISATION_EXCEEDED' : 'BUS_UTILISATION_HIGH',
      message: exceeded
        ? `${detail}, above the 80 % a bus can sustain with room for retries. Raise the poll intervals, raise the baud rate, or split the devices across buses.`
        : `${detail}, above 60 %: little room is left for retries or more devices. Consider longer poll intervals, a higher baud rate or a second bus.`,
      assetIds,
      severity: exceeded ? 'error' : 'warning',
    },
  ];
}

const pct = (x: number) => `${(Math.round(x * 1000) / 10).toFixed(1)} %`;
const ms = (s: number) => `${(Math.round(s * 10000) / 10).toFixed(1)} ms`;
