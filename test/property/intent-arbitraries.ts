import fc from 'fast-check';
import { DEFAULT_SERIAL } from '../../src/core/catalog/default-config.ts';

/**
 * Random writes for one site, generated as *intents* ("move some device to some bus", "delete
 * some asset with its children") made of plain numbers. resolve-intents.ts turns them into
 * concrete operations only when they run, against the site as the API last returned it, so
 * shrinking works on the intents and every id and version sent is one the API handed out —
 * except where an intent asks for a stale version on purpose.
 */

export type Stale = 'fresh' | 'behind' | 'ahead';
export interface Serial {
  baud: number;
  parity: string;
  stopBits: number;
}
export interface BusSettings extends Serial {
  protocol: string;
  maxDevices: number;
}

const nat = fc.nat({ max: 999 });
const rarely = fc.integer({ min: 0, max: 9 }).map((n) => n === 0);
const often = fc.integer({ min: 0, max: 4 }).map((n) => n !== 0);
const stale: fc.Arbitrary<Stale> = fc.oneof(
  { weight: 14, arbitrary: fc.constant('fresh' as const) },
  { weight: 1, arbitrary: fc.constant('behind' as const) },
  { weight: 1, arbitrary: fc.constant('ahead' as const) },
);
const serial: fc.Arbitrary<Serial> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ ...DEFAULT_SERIAL }) },
  { weight: 1, arbitrary: fc.record({ baud: fc.constantFrom(9600, 19200, 38400), parity: fc.constantFrom('none', 'even', 'odd'), stopBits: fc.constantFrom(1, 2) }) },
);
const busSettings: fc.Arbitrary<BusSettings | null> = fc.option(
  fc.record({
    protocol: fc.oneof({ weight: 9, arbitrary: fc.constant('modbus-rtu') }, { weight: 1, arbitrary: fc.constant('bacnet-mstp') }),
    maxDevices: fc.constantFrom(2, 3, 32, 32),
  }).chain((b) => serial.map((s) => ({ ...b, ...s }))),
  { freq: 8 },
);

const gatewayFields = { model: nat, name: nat, ip: nat, poll: nat, buses: fc.array(busSettings, { minLength: 4, maxLength: 4 }) };
const deviceFields = { model: nat, unitId: nat, serial, poll: nat, onIp: rarely, ip: nat };

/** Every kind of intent with its weight (how often it comes up when enabled) and its fields. */
const INTENTS = {
  gateway: [2, fc.record({ t: fc.constant('gateway' as const), ...gatewayFields, serialNo: fc.option(nat, { freq: 3 }) })],
  busDevice: [
    8,
    fc.record({ t: fc.constant('busDevice' as const), kind: fc.constantFrom('meter' as const, 'controller' as const), name: nat, parent: nat, port: nat, anyPort: rarely, ...deviceFields }),
  ],
  sensor: [
    5,
    fc.record({
      t: fc.constant('sensor' as const),
      model: nat,
      name: nat,
      parent: nat,
      channel: nat,
      configure: often,
      matching: often,
      signal: nat,
      alarms: fc.option(fc.tuple(fc.constantFrom(-100, 0, 0, 0, 10), fc.constantFrom(5, 40, 40, 40, 9000)), { freq: 6 }),
    }),
  ],
  unitId: [3, fc.record({ t: fc.constant('unitId' as const), target: nat, unitId: nat, stale })],
  move: [2, fc.record({ t: fc.constant('move' as const), target: nat, parent: nat, port: nat, anyPort: rarely, stale })],
  channelSignal: [2, fc.record({ t: fc.constant('channelSignal' as const), target: nat, channel: nat, signal: nat, matching: often, stale })],
  rename: [1, fc.record({ t: fc.constant('rename' as const), target: nat, name: nat, stale })],
  serialSettings: [1, fc.record({ t: fc.constant('serialSettings' as const), target: nat, serial, stale })],
  busSettings: [1, fc.record({ t: fc.constant('busSettings' as const), target: nat, port: nat, settings: busSettings, stale })],
  status: [1, fc.record({ t: fc.constant('status' as const), target: nat, status: fc.constantFrom('planned' as const, 'active' as const, 'retired' as const), stale })],
  poll: [1, fc.record({ t: fc.constant('poll' as const), target: nat, poll: nat, stale })],
  setConfig: [1, fc.record({ t: fc.constant('setConfig' as const), target: nat, keepChannels: often, ...gatewayFields, ...deviceFields, stale })],
  loop: [1, fc.record({ t: fc.constant('loop' as const), target: nat, sensor: nat, own: often, output: nat, setpoint: nat, append: fc.boolean(), stale })],
  delete: [2, fc.record({ t: fc.constant('delete' as const), target: nat, cascade: fc.boolean(), cables: fc.boolean(), stale })],
  connect: [3, fc.record({ t: fc.constant('connect' as const), a: nat, aPort: nat, b: nat, bPort: nat, matching: often, length: nat, label: fc.option(nat, { freq: 2 }) })],
  disconnect: [2, fc.record({ t: fc.constant('disconnect' as const), target: nat, stale })],
  cableLength: [1, fc.record({ t: fc.constant('cableLength' as const), target: nat, length: nat, stale })],
  site: [1, fc.record({ t: fc.constant('site' as const), subnet: fc.option(nat, { freq: 3 }), router: fc.option(nat, { freq: 3 }), stale })],
} as const;
type IntentKind = keyof typeof INTENTS;
export type Intent = { [K in IntentKind]: (typeof INTENTS)[K][1] extends fc.Arbitrary<infer T> ? T : never }[IntentKind];

const deployedArb = fc.record({
  t: fc.constant('deployed' as const),
  target: nat,
  mode: fc.constantFrom('current' as const, 'current' as const, 'older' as const, 'older' as const, 'none' as const),
  older: nat,
});
export type ChangeSetIntent =
  | { t: 'changeset'; intents: Intent[]; rest: boolean }
  | (typeof deployedArb extends fc.Arbitrary<infer T> ? T : never);

/**
 * One write: a change set over the changesets endpoint (or, for a single operation now and then,
 * the resource's own endpoint), or a deployment acknowledgement — drawn from the enabled kinds.
 */
function changeSetArb(enabled: ReadonlyArray<IntentKind | 'deployed'>): fc.Arbitrary<ChangeSetIntent> {
  const kinds = enabled.filter((k): k is IntentKind => k !== 'deployed');
  const intent = fc.oneof(...kinds.map((k) => ({ weight: INTENTS[k][0], arbitrary: INTENTS[k][1] as fc.Arbitrary<Intent> })));
  const changeset = fc.record({
    t: fc.constant('changeset' as const),
    intents: fc.oneof({ weight: 3, arbitrary: fc.tuple(intent) }, { weight: 1, arbitrary: fc.array(intent, { minLength: 2, maxLength: 4 }) }),
    rest: fc.integer({ min: 0, max: 9 }).map((n) => n < 3),
  });
  if (!enabled.includes('deployed')) return changeset;
  if (kinds.length === 0) return deployedArb;
  return fc.oneof({ weight: 8, arbitrary: changeset }, { weight: 3, arbitrary: deployedArb });
}

/**
 * A run's writes. Swarm testing: each run enables a random subset of the kinds of write, so
 * some runs do little but create devices, change unit ids and acknowledge deployments — deep
 * sequences of a few kinds that an even mix of every kind almost never produces.
 */
export function writeSequenceArb(length: { minLength: number; maxLength: number }): fc.Arbitrary<ChangeSetIntent[]> {
  const all: Array<IntentKind | 'deployed'> = [...(Object.keys(INTENTS) as IntentKind[]), 'deployed'];
  return fc
    .oneof({ weight: 1, arbitrary: fc.constant(all) }, { weight: 3, arbitrary: fc.subarray(all, { minLength: 2 }) })
    .chain((enabled) => fc.array(changeSetArb(enabled), length));
}
