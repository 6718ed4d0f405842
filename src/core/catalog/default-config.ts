import type { ConfigDoc } from '../graph/types.ts';
import type { DeviceModel } from './types.ts';

export const DEFAULT_SERIAL = { baud: 19200, parity: 'even', stopBits: 1 } as const;

export interface AddressHint {
  name?: string;
  unitId?: number;
  ip?: string;
}

/**
 * A sensible first configuration for a new asset of `model`, the way a commissioning engineer
 * would start: Modbus RTU at 19200 8E1, unhurried poll intervals, the sensor's full range.
 */
export function defaultConfig(model: DeviceModel, hint: AddressHint = {}): ConfigDoc {
  switch (model.kind) {
    case 'gateway':
      return {
        hostname: (hint.name ?? model.id).toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63),
        ip: hint.ip ?? '192.168.1.10',
        protocols: ['modbus-rtu', 'mqtt'],
        pollIntervalMs: Math.max(5000, model.gateway?.minPollIntervalMs ?? 0),
        buses: Object.fromEntries(
          model.ports
            .filter((p) => p.type === 'rs485')
            .map((p) => [p.name, { protocol: 'modbus-rtu', ...DEFAULT_SERIAL, maxDevices: 32 }]),
        ),
      };
    case 'controller':
      return {
        ...address(hint),
        pollIntervalMs: 10000,
        channels: {},
        loops: [],
      };
    case 'meter':
      return {
        ...address(hint),
        pollIntervalMs: 15000,
        ct: { primaryA: 100, secondary: model.meter?.ctSecondary[0] ?? '5A' },
        ratedCurrentA: 80,
        phases: model.meter?.maxPhases ?? 3,
      };
    case 'sensor': {
      const s = model.sensor;
      const output = s?.outputs[0] ?? '4-20mA';
      return {
        outputSignal: output,
        unit: s?.unit ?? '',
        range: { ...(s?.range ?? { min: 0, max: 100 }) },
        calibrationOffset: 0,
        ...(output === 'modbus-rtu' ? { ...address(hint), pollIntervalMs: 30000 } : {}),
      };
    }
  }
}

function address(hint: AddressHint): ConfigDoc {
  if (hint.ip) return { ip: hint.ip };
  return { unitId: hint.unitId ?? 1, serial: { ...DEFAULT_SERIAL } };
}
