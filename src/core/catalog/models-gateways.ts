import type { DeviceModel, PortSpec } from './types.ts';

const bus = (name: string): PortSpec => ({ name, type: 'rs485', capacity: 32 });
const eth = (name: string): PortSpec => ({ name, type: 'ethernet', capacity: 1 });

/** Gateways: the MQTT clients of a site, masters of their RS-485 segments. */
export const gatewayModels: DeviceModel[] = [
  {
    id: 'nexa-gw-200',
    vendor: 'Nexa Systems',
    model: 'GW-200',
    kind: 'gateway',
    description: 'Compact DIN-rail edge gateway, two isolated RS-485 ports, one Ethernet port.',
    ports: [bus('rs485-1'), bus('rs485-2'), eth('eth0')],
    capabilities: [
      { name: 'modbus-rtu', minFirmware: '1.0.0' },
      { name: 'modbus-tcp', minFirmware: '1.0.0' },
      { name: 'mqtt', minFirmware: '1.0.0' },
      { name: 'bacnet-ip', minFirmware: '2.1.0' },
      { name: 'bacnet-mstp', minFirmware: '2.1.0' },
    ],
    firmware: ['1.0.0', '1.4.2', '2.1.0', '2.3.1'],
    gateway: { pointCapacity: 2000, minPollIntervalMs: 1000 },
  },
  {
    id: 'nexa-gw-400',
    vendor: 'Nexa Systems',
    model: 'GW-400',
    kind: 'gateway',
    description: 'Building gateway, four isolated RS-485 ports, two Ethernet ports.',
    ports: [bus('rs485-1'), bus('rs485-2'), bus('rs485-3'), bus('rs485-4'), eth('eth0'), eth('eth1')],
    capabilities: [
      { name: 'modbus-rtu', minFirmware: '3.0.0' },
      { name: 'modbus-tcp', minFirmware: '3.0.0' },
      { name: 'mqtt', minFirmware: '3.0.0' },
      { name: 'bacnet-ip', minFirmware: '3.0.0' },
      { name: 'bacnet-mstp', minFirmware: '3.2.0' },
    ],
    firmware: ['3.0.0', '3.2.0', '3.4.1'],
    gateway: { pointCapacity: 5000, minPollIntervalMs: 500 },
  },
  {
    id: 'orbis-edge-10',
    vendor: 'Orbis',
    model: 'Edge 10',
    kind: 'gateway',
    description: 'Entry-level cellular/Ethernet gateway with one RS-485 port; Modbus only.',
    ports: [bus('rs485-1'), eth('eth0')],
    capabilities: [
      { name: 'modbus-rtu', minFirmware: '1.0.0' },
      { name: 'mqtt', minFirmware: '1.0.0' },
      { name: 'modbus-tcp', minFirmware: '1.2.0' },
    ],
    firmware: ['1.0.0', '1.2.0', '1.3.5'],
    gateway: { pointCapacity: 500, minPollIntervalMs: 2000 },
  },
];
