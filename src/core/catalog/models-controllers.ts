import type { DeviceModel, PortSpec, PortType, Signal } from './types.ts';

const UNIVERSAL_INPUT: Signal[] = ['4-20mA', '0-10V', 'ntc10k', 'pt1000', 'dry-contact'];

function channels(prefix: string, type: PortType, count: number, signals: Signal[]): PortSpec[] {
  return Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${i + 1}`, type, capacity: 1, signals }));
}

/** Controllers: sit on a gateway's bus (or on IP) and own point channels that sensors are wired to. */
export const controllerModels: DeviceModel[] = [
  {
    id: 'kelvo-dc-8',
    vendor: 'Kelvo Controls',
    model: 'DC-8',
    kind: 'controller',
    description: 'Room/zone controller: 8 universal inputs, 4 analog outputs, 4 relays, RS-485.',
    ports: [
      { name: 'com', type: 'rs485', capacity: 1 },
      ...channels('ui', 'ai', 8, UNIVERSAL_INPUT),
      ...channels('ao', 'ao', 4, ['0-10V']),
      ...channels('do', 'do', 4, ['relay']),
    ],
    capabilities: [
      { name: 'modbus-rtu', minFirmware: '1.0.0' },
      { name: 'bacnet-mstp', minFirmware: '2.0.0' },
    ],
    firmware: ['1.0.0', '1.6.0', '2.0.0', '2.2.4'],
    unitLoad: 1,
    points: 40,
    poll: { requestBytes: 8, responseBytes: 69, turnaroundMs: 15 },
  },
  {
    id: 'kelvo-dc-16',
    vendor: 'Kelvo Controls',
    model: 'DC-16',
    kind: 'controller',
    description: 'Plant controller: 16 universal inputs, 8 analog outputs, 8 relays, RS-485 and Ethernet.',
    ports: [
      { name: 'com', type: 'rs485', capacity: 1 },
      { name: 'eth0', type: 'ethernet', capacity: 1 },
      ...channels('ui', 'ai', 16, UNIVERSAL_INPUT),
      ...channels('ao', 'ao', 8, ['0-10V', '4-20mA']),
      ...channels('do', 'do', 8, ['relay']),
    ],
    capabilities: [
      { name: 'modbus-rtu', minFirmware: '1.0.0' },
      { name: 'modbus-tcp', minFirmware: '1.0.0' },
      { name: 'bacnet-ip', minFirmware: '1.5.0' },
      { name: 'bacnet-mstp', minFirmware: '1.5.0' },
    ],
    firmware: ['1.0.0', '1.5.0', '1.8.2'],
    unitLoad: 1,
    points: 96,
    poll: { requestBytes: 8, responseBytes: 133, turnaroundMs: 20 },
  },
  {
    id: 'ardent-uc-4',
    vendor: 'Ardent',
    model: 'UC-4',
    kind: 'controller',
    description: 'Low-cost unit controller: 4 current/voltage inputs, 2 relays; 1/4 unit-load transceiver.',
    ports: [
      { name: 'com', type: 'rs485', capacity: 1 },
      ...channels('ai', 'ai', 4, ['4-20mA', '0-10V']),
      ...channels('do', 'do', 2, ['relay']),
    ],
    capabilities: [{ name: 'modbus-rtu', minFirmware: '1.0.0' }],
    firmware: ['1.0.0', '1.1.0'],
    unitLoad: 0.25,
    points: 12,
    poll: { requestBytes: 8, responseBytes: 29, turnaroundMs: 10 },
  },
];
