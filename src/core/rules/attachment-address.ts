import type { Asset } from '../graph/types.ts';
import { busLabel, busMembersInScope, changedFirst, serialOf, type Bus } from './lib/bus-scope.ts';
import { label } from './lib/io-describe.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'attachment-address';

/** Capabilities that let a device be polled over IP by its gateway. */
const IP_PROTOCOLS = ['modbus-tcp', 'bacnet-ip'];

/**
 * A device is reachable only if it carries the address its attachment needs: a Modbus unit id
 * (and serial settings) on a Modbus RTU bus, an MS/TP MAC on a BACnet MS/TP bus, an IP address
 * on IP. The bus itself must be configured on the gateway, and the device must speak its protocol.
 */
export const attachmentAddress: Rule = {
  id: RULE,
  title: 'Attached devices carry the address their attachment needs',
  description:
    "Checks that every controller, meter or Modbus sensor attached to a gateway can actually be addressed there. On an " +
    "RS-485 port the gateway must have the bus configured (config.buses[port]: protocol, baud, parity, stop bits), and " +
    'the device must carry the address of that protocol — config.unitId and config.serial on a Modbus RTU bus, ' +
    'config.mstpMac on a BACnet MS/TP bus — and its model must list that protocol among its capabilities. On IP (no ' +
    'port) the device needs config.ip and a model that speaks Modbus TCP or BACnet/IP. A device without an address ' +
    'is never polled; a device on a bus whose protocol it does not speak garbles the segment for everyone. Checked for ' +
    'touched devices and, when a gateway is touched, for every device on its buses (switching a bus from Modbus RTU to ' +
    'MS/TP makes every device on it need a MAC).',
  codes: ['ADDRESS_MISSING', 'BUS_NOT_CONFIGURED', 'PROTOCOL_NOT_SUPPORTED'],
  severity: 'error',
  check(ctx) {
    const out: Violation[] = [];
    const seen = new Set<string>();
    for (const { device, bus } of busMembersInScope(ctx)) {
      seen.add(device.id);
      out.push(...checkOnBus(ctx, device, bus));
    }
    for (const id of ctx.touched.assets) {
      const device = ctx.candidate.assets.get(id);
      if (!device || seen.has(id) || device.kind === 'gateway' || device.port !== null) continue;
      const parent = ctx.index.asset(device.parentId);
      if (parent?.kind === 'gateway') out.push(...checkOnIp(ctx, device, parent));
    }
    return out;
  },
};

function checkOnBus(ctx: RuleContext, device: Asset, bus: Bus): Violation[] {
  // The device leads when it was changed; otherwise the gateway's bus change is at fault.
  const deviceFirst = ctx.touched.assets.has(device.id);
  const assetIds = changedFirst(ctx, [device.id, bus.gateway.id]);
  const v = (code: string, message: string, deviceField?: string, busField?: string): Violation => {
    const field = deviceFirst ? deviceField : busField;
    const path = field === undefined ? undefined : deviceFirst ? field : `/buses/${bus.port}${field}`;
    return { rule: RULE, code, message, assetIds, ...(path === undefined ? {} : { path }), severity: 'error' };
  };

  const protocol = bus.settings?.protocol;
  if (!protocol) {
    return [
      v(
        'BUS_NOT_CONFIGURED',
        `${label(device)} hangs on ${busLabel(bus)}, but the gateway has no settings for that bus; add config.buses["${bus.port}"] (protocol, baud, parity, stop bits, max devices) to the gateway or move the device to a configured bus.`,
        undefined,
        '',
      ),
    ];
  }

  const out: Violation[] = [];
  const capabilities = ctx.catalog.get(device.modelId)?.capabilities.map((c) => c.name);
  if (capabilities && !capabilities.includes(protocol)) {
    const busProtocols = capabilities.filter((c) => c === 'modbus-rtu' || c === 'bacnet-mstp');
    out.push(
      v(
        'PROTOCOL_NOT_SUPPORTED',
        `${label(device)} (${device.modelId}) does not speak ${protocol}, the protocol of ${busLabel(bus)}; move it to a bus running ${busProtocols.join(' or ') || 'a protocol it supports'}.`,
        undefined,
        '/protocol',
      ),
    );
  }
  if (protocol === 'modbus-rtu') {
    if (typeof device.config.unitId !== 'number') {
      out.push(v('ADDRESS_MISSING', `${label(device)} is on Modbus RTU ${busLabel(bus)} but has no unit id; set config.unitId (1–247, free on the bus).`, '/unitId', '/protocol'));
    }
    if (!serialOf(device.config)) {
      out.push(v('ADDRESS_MISSING', `${label(device)} is on Modbus RTU ${busLabel(bus)} but has no serial settings; set config.serial to the bus's baud rate, parity and stop bits.`, '/serial', '/protocol'));
    }
  } else if (protocol === 'bacnet-mstp' && typeof device.config.mstpMac !== 'number') {
    out.push(v('ADDRESS_MISSING', `${label(device)} is on BACnet MS/TP ${busLabel(bus)} but has no MS/TP MAC; set config.mstpMac (0–127, free on the bus).`, '/mstpMac', '/protocol'));
  }
  return out;
}

function checkOnIp(ctx: RuleContext, device: Asset, gateway: Asset): Violation[] {
  const model = ctx.catalog.get(device.modelId);
  // Without an Ethernet port the device cannot be on IP at all: parent-kind-allowed reports that.
  if (!model || !model.ports.some((p) => p.type === 'ethernet')) return [];
  const out: Violation[] = [];
  const ids = [device.id, gateway.id];
  if (typeof device.config.ip !== 'string' || device.config.ip === '') {
    out.push({
      rule: RULE,
      code: 'ADDRESS_MISSING',
      message: `${label(device)} is attached to ${label(gateway)} over IP but has no IP address; set config.ip to a free host address of the site subnet, or put it on an RS-485 port.`,
      assetIds: ids,
      path: '/ip',
      severity: 'error',
    });
  }
  const speaks = model.capabilities.map((c) => c.name).filter((c) => IP_PROTOCOLS.includes(c));
  if (!speaks.length) {
    out.push({
      rule: RULE,
      code: 'PROTOCOL_NOT_SUPPORTED',
      message: `${label(device)} (${model.id}) speaks neither Modbus TCP nor BACnet/IP, so ${label(gateway)} cannot poll it over IP; put it on an RS-485 port.`,
      assetIds: ids,
      severity: 'error',
    });
  }
  return out;
}
