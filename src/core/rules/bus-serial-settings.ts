import type { SerialSettings } from '../catalog/config-schemas.ts';
import { busLabel, busMembersInScope, changedFirst, describeSerial, serialOf } from './lib/bus-scope.ts';
import { label } from './lib/io-describe.ts';
import type { Rule, Violation } from './types.ts';

const RULE = 'bus-serial-settings';
const FIELDS = ['baud', 'parity', 'stopBits'] as const satisfies ReadonlyArray<keyof SerialSettings>;

/**
 * Every UART on an RS-485 segment must frame characters the same way; a device at another baud
 * rate, parity or stop-bit count sees only framing errors and never answers.
 */
export const busSerialSettings: Rule = {
  id: RULE,
  title: 'Device serial settings equal to the bus',
  description:
    "Checks that the serial settings of every device on an RS-485 bus (config.serial: baud rate, parity, stop bits) " +
    "equal the bus's settings in its gateway's config.buses[port]. An RS-485 segment has no negotiation: a device " +
    'listening at 9,600 baud to a master talking 19,200, or expecting even parity where the master sends none, decodes ' +
    'garbage, drops every request with a framing or parity error and looks dead in the field. Checked for touched ' +
    'devices and, when a gateway is touched, for every device on its buses, so changing a bus flags each device the ' +
    'change leaves behind. Devices without serial settings and buses without settings are reported by attachment-address.',
  codes: ['SERIAL_SETTINGS_MISMATCH'],
  severity: 'error',
  check(ctx) {
    const out: Violation[] = [];
    for (const { device, bus } of busMembersInScope(ctx)) {
      const serial = serialOf(device.config);
      const settings = bus.settings;
      if (!serial || !settings) continue;
      const wrong = FIELDS.filter((f) => settings[f] !== undefined && serial[f] !== settings[f]);
      if (!wrong.length) continue;
      const deviceFirst = ctx.touched.assets.has(device.id);
      // One field at fault: point at it in the changed document; several: at the whole block.
      const path = deviceFirst
        ? wrong.length === 1 ? `/serial/${wrong[0]}` : '/serial'
        : wrong.length === 1 ? `/buses/${bus.port}/${wrong[0]}` : `/buses/${bus.port}`;
      const want = describeSerial(settings);
      out.push({
        rule: RULE,
        code: 'SERIAL_SETTINGS_MISMATCH',
        message:
          `${label(device)} is set to ${describeSerial(serial)} but ${busLabel(bus)} runs ${want} ` +
          `(${wrong.map((f) => `${f} ${String(serial[f])} ≠ ${String(settings[f])}`).join(', ')}); ` +
          (deviceFirst
            ? `set the device's serial settings to ${want}.`
            : `set each device on the bus to the new settings in the same change, or keep the bus at ${describeSerial(serial)}.`),
        assetIds: changedFirst(ctx, [device.id, bus.gateway.id]),
        path,
        severity: 'error',
      });
    }
    return out;
  },
};
