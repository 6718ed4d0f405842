import { Type, type Static, type TSchema } from 'typebox';
import type { DeviceModel } from './types.ts';

/**
 * Configuration documents, one shape per asset kind. The generic schemas give the TypeScript
 * types; `configSchemaFor(model)` narrows them to one model (its port names, its outputs).
 */
const Baud = Type.Union([
  Type.Literal(9600),
  Type.Literal(19200),
  Type.Literal(38400),
  Type.Literal(57600),
  Type.Literal(76800),
  Type.Literal(115200),
]);
const Parity = Type.Union([Type.Literal('none'), Type.Literal('even'), Type.Literal('odd')]);
const StopBits = Type.Union([Type.Literal(1), Type.Literal(2)]);
const Ipv4 = Type.String({ format: 'ipv4', description: 'IPv4 host address' });
const UnitId = Type.Integer({ minimum: 1, maximum: 247, description: 'Modbus unit id (0 is broadcast, 248–255 reserved)' });
const MstpMac = Type.Integer({ minimum: 0, maximum: 127, description: 'BACnet MS/TP master MAC address' });
const BacnetInstance = Type.Integer({ minimum: 0, maximum: 4194302, description: 'BACnet device instance' });
const PollIntervalMs = Type.Integer({ minimum: 100, maximum: 3_600_000, description: 'Poll interval in ms' });
const SignalSchema = Type.Union([
  Type.Literal('4-20mA'),
  Type.Literal('0-10V'),
  Type.Literal('ntc10k'),
  Type.Literal('pt1000'),
  Type.Literal('dry-contact'),
  Type.Literal('relay'),
]);
const ProtocolSchema = Type.Union([
  Type.Literal('modbus-rtu'),
  Type.Literal('modbus-tcp'),
  Type.Literal('bacnet-ip'),
  Type.Literal('bacnet-mstp'),
  Type.Literal('mqtt'),
]);

export const SerialSettings = Type.Object(
  { baud: Baud, parity: Parity, stopBits: StopBits },
  { additionalProperties: false },
);
export type SerialSettings = Static<typeof SerialSettings>;

export const BusConfig = Type.Object(
  {
    protocol: Type.Union([Type.Literal('modbus-rtu'), Type.Literal('bacnet-mstp')]),
    baud: Baud,
    parity: Parity,
    stopBits: StopBits,
    maxDevices: Type.Integer({ minimum: 1, maximum: 247 }),
    maxMaster: Type.Optional(Type.Integer({ minimum: 0, maximum: 127 })),
  },
  { additionalProperties: false },
);
export type BusConfig = Static<typeof BusConfig>;

function gatewaySchema(buses: TSchema) {
  return Type.Object(
    {
      hostname: Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' }),
      ip: Ipv4,
      protocols: Type.Array(ProtocolSchema, { uniqueItems: true, maxItems: 5 }),
      pollIntervalMs: PollIntervalMs,
      bacnetInstance: Type.Optional(BacnetInstance),
      buses,
    },
    { additionalProperties: false },
  );
}
export const GatewayConfig = gatewaySchema(Type.Record(Type.String(), BusConfig));
export type GatewayConfig = Static<typeof GatewayConfig>;

const ChannelConfig = Type.Object({ signal: SignalSchema }, { additionalProperties: false });
const ControlLoop = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    inputSensorId: Type.String({ format: 'uuid' }),
    outputChannel: Type.String({ minLength: 1, maxLength: 32 }),
    setpoint: Type.Number(),
  },
  { additionalProperties: false },
);

/** Addressing shared by devices that sit on a bus or on IP. */
const addressing = {
  unitId: Type.Optional(UnitId),
  mstpMac: Type.Optional(MstpMac),
  ip: Type.Optional(Ipv4),
  bacnetInstance: Type.Optional(BacnetInstance),
  serial: Type.Optional(SerialSettings),
  pollIntervalMs: PollIntervalMs,
};

function controllerSchema(channels: TSchema) {
  return Type.Object(
    { ...addressing, channels, loops: Type.Array(ControlLoop, { maxItems: 64 }) },
    { additionalProperties: false },
  );
}
export const ControllerConfig = controllerSchema(Type.Record(Type.String(), ChannelConfig));
export type ControllerConfig = Static<typeof ControllerConfig>;

export const MeterConfig = Type.Object(
  {
    ...addressing,
    ct: Type.Object(
      {
        primaryA: Type.Number({ exclusiveMinimum: 0, maximum: 10000 }),
        secondary: Type.Union([Type.Literal('5A'), Type.Literal('1A'), Type.Literal('333mV')]),
      },
      { additionalProperties: false },
    ),
    ratedCurrentA: Type.Number({ exclusiveMinimum: 0, maximum: 10000, description: 'Rated current of the metered circuit' }),
    phases: Type.Union([Type.Literal(1), Type.Literal(3)]),
  },
  { additionalProperties: false },
);
export type MeterConfig = Static<typeof MeterConfig>;

const Range = Type.Object({ min: Type.Number(), max: Type.Number() }, { additionalProperties: false });
function sensorSchema(output: TSchema) {
  return Type.Object(
    {
      outputSignal: output,
      unit: Type.String({ minLength: 1, maxLength: 16 }),
      range: Range,
      calibrationOffset: Type.Number({ minimum: -1000, maximum: 1000 }),
      alarms: Type.Optional(
        Type.Object({ low: Type.Optional(Type.Number()), high: Type.Optional(Type.Number()) }, { additionalProperties: false }),
      ),
      unitId: Type.Optional(UnitId),
      serial: Type.Optional(SerialSettings),
      pollIntervalMs: Type.Optional(PollIntervalMs),
    },
    { additionalProperties: false },
  );
}
export const SensorConfig = sensorSchema(Type.Union([SignalSchema, Type.Literal('modbus-rtu')]));
export type SensorConfig = Static<typeof SensorConfig>;

function keyed(names: string[], value: TSchema) {
  return Type.Object(Object.fromEntries(names.map((n) => [n, Type.Optional(value)])), { additionalProperties: false });
}

/** The JSON Schema of one model's configuration document. */
export function configSchemaFor(model: DeviceModel): TSchema {
  const portsOf = (...types: string[]) => model.ports.filter((p) => types.includes(p.type)).map((p) => p.name);
  switch (model.kind) {
    case 'gateway':
      return gatewaySchema(keyed(portsOf('rs485'), BusConfig));
    case 'controller':
      return controllerSchema(keyed(portsOf('ai', 'ao', 'di', 'do'), ChannelConfig));
    case 'meter':
      return MeterConfig;
    case 'sensor':
      return sensorSchema(Type.Union((model.sensor?.outputs ?? []).map((o) => Type.Literal(o))));
  }
}
