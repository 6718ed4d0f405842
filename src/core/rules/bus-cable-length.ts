import type { Connection } from '../graph/types.ts';
import { busAt, busLabel, changedFirst, devicesOn, touchedBuses, type Bus } from './lib/bus-scope.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'bus-cable-length';
/** TIA/EIA-485 (TSB-89) guidance: about 1,200 m of cable per segment up to 100 kbit/s… */
const MAX_LENGTH_M = 1200;
const FULL_LENGTH_MAX_BAUD = 100_000;
/** …and proportionally less above, as bit time shrinks against the cable's rise time. */
const segmentLimitM = (baud: number) => Math.min(MAX_LENGTH_M, (MAX_LENGTH_M * FULL_LENGTH_MAX_BAUD) / baud);
const NEAR_LIMIT = 0.9;

export const busCableLength: Rule = {
  id: RULE,
  title: 'RS-485 segment cable length within its limit',
  description:
    'Checks the total length of cable on each RS-485 segment a change reaches: every cable with an end on the ' +
    "gateway's bus port, plus every cable with an end on an RS-485 port of a device on that bus (the daisy chain " +
    'between devices). The limit follows the TIA/EIA-485 application guidance (TSB-89): about 1,200 m at data rates up ' +
    'to 100 kbit/s, falling in proportion above it as the bit time approaches the rise time of a long cable; rema uses ' +
    'limit = min(1200, 1200 × 100000 / baud) metres, so 1,200 m for every rate up to 76,800 baud and about 1,041 m at ' +
    '115,200 baud (1,200 m when the bus has no baud rate configured). A longer segment loses signal amplitude and ' +
    'edge quality until devices at the far end drop frames; the fix is a repeater that starts a new segment. A segment ' +
    'above 90 % of its limit is reported as a warning: a few more metres of pulled cable in the field will break it. ' +
    'Checked for segments of touched cables, touched devices on a bus and every bus of a touched gateway (a faster baud ' +
    'rate shortens the limit).',
  codes: ['SEGMENT_TOO_LONG', 'SEGMENT_NEAR_LIMIT'],
  severity: 'error',
  check(ctx) {
    const buses = new Map(touchedBuses(ctx).map((b) => [b.key, b]));
    for (const id of ctx.touched.connections) {
      const cable = ctx.candidate.connections.get(id);
      if (!cable) continue; // a removed cable only shortens its segment
      for (const end of [cable.a, cable.b]) {
        const bus = busOfEnd(ctx, end.assetId, end.port);
        if (bus) buses.set(bus.key, bus);
      }
    }
    return [...buses.values()].flatMap((bus) => checkSegment(ctx, bus));
  },
};

/** The bus a cable end sits on: a gateway's bus port, or an RS-485 port of a device on a bus. */
function busOfEnd(ctx: RuleContext, assetId: string, port: string): Bus | undefined {
  const asset = ctx.candidate.assets.get(assetId);
  if (!asset) return undefined;
  if (asset.kind === 'gateway') return busAt(ctx, asset.id, port);
  if (ctx.catalog.port(asset.modelId, port)?.type !== 'rs485') return undefined;
  return busAt(ctx, asset.parentId, asset.port);
}

function segmentCables(ctx: RuleContext, bus: Bus): Connection[] {
  const cables = new Map<string, Connection>();
  for (const c of ctx.index.connectionsOf(bus.gateway.id, bus.port)) cables.set(c.id, c);
  for (const device of devicesOn(ctx, bus)) {
    for (const p of ctx.catalog.get(device.modelId)?.ports ?? []) {
      if (p.type !== 'rs485') continue;
      for (const c of ctx.index.connectionsOf(device.id, p.name)) cables.set(c.id, c);
    }
  }
  return [...cables.values()];
}

function checkSegment(ctx: RuleContext, bus: Bus): Violation[] {
  const cables = segmentCables(ctx, bus);
  const total = cables.reduce((sum, c) => sum + (Number.isFinite(c.lengthM) ? c.lengthM : 0), 0);
  const baud = bus.settings?.baud;
  const limit = baud ? segmentLimitM(baud) : MAX_LENGTH_M;
  if (total <= limit * NEAR_LIMIT) return [];

  const tooLong = total > limit;
  // Ends of the cables this change touched lead, then the gateway, then every other device on the segment.
  const touchedEnds = cables.filter((c) => ctx.touched.connections.has(c.id)).flatMap((c) => [c.a.assetId, c.b.assetId]);
  const allEnds = cables.flatMap((c) => [c.a.assetId, c.b.assetId]);
  const assetIds = changedFirst(ctx, [...touchedEnds, bus.gateway.id, ...allEnds]);
  const rate = baud ? `at ${baud} baud` : '(no baud rate configured, assuming ≤ 100 kbit/s)';
  const summary = `The RS-485 segment on ${busLabel(bus)} has ${m(total)} m of cable in ${cables.length} cable${cables.length === 1 ? '' : 's'}`;
  return [
    tooLong
      ? {
          rule: RULE,
          code: 'SEGMENT_TOO_LONG',
          message: `${summary}, over its ${m(limit)} m limit ${rate} (TIA/EIA-485: about 1,200 m up to 100 kbit/s, less above); shorten the run, add a repeater to start a new segment, or move devices to another bus${baud && baud > FULL_LENGTH_MAX_BAUD ? ' or lower the baud rate' : ''}.`,
          assetIds,
          severity: 'error',
        }
      : {
          rule: RULE,
          code: 'SEGMENT_NEAR_LIMIT',
          message: `${summary}, ${Math.round((total / limit) * 100)} % of its ${m(limit)} m limit ${rate}; little margin is left for cable added in the field — plan a repeater before extending it.`,
          assetIds,
          severity: 'warning',
        },
  ];
}

const m = (metres: number) => Math.floor(metres).toLocaleString('en-US');
