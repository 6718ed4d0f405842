import { describe, expect, it } from 'vitest';
import type { ConfigDoc, SiteGraph } from '../graph/types.ts';
import { SiteBuilder } from '../testing/site-builder.ts';
import { busSerialSettings } from './bus-serial-settings.ts';

const busOf = (g: SiteGraph, gw: string, port: string) => (g.assets.get(gw)!.config.buses as Record<string, ConfigDoc>)[port];
const serialOf = (g: SiteGraph, id: string) => g.assets.get(id)!.config.serial as ConfigDoc;

describe('bus-serial-settings', () => {
  it('accepts a default site where every device runs 19200 8E1 like its bus', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.meter(gw, 'rs485-1');
    b.controller(gw, 'rs485-1');
    b.sensor(gw, 'rs485-2', { model: 'airq-co2-mb' });
    expect(busSerialSettings.check(b.whole())).toEqual([]);
  });

  it('refuses a meter set to another baud rate than its bus', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    const [v, ...rest] = busSerialSettings.check(b.change((g) => { serialOf(g, m).baud = 9600; }, [m]));
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ rule: 'bus-serial-settings', code: 'SERIAL_SETTINGS_MISMATCH', severity: 'error', assetIds: [m, gw], path: '/serial/baud' });
    expect(v.message).toContain('baud 9600 ≠ 19200');
  });

  it('accepts a meter whose baud rate is changed to the bus rate', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1', { config: { serial: { baud: 9600, parity: 'even', stopBits: 1 } } });
    expect(busSerialSettings.check(b.change((g) => { serialOf(g, m).baud = 19200; }, [m]))).toEqual([]);
  });

  it('points at parity and at stop bits when only that field differs', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m1 = b.meter(gw, 'rs485-1', { config: { serial: { baud: 19200, parity: 'none', stopBits: 1 } } });
    const m2 = b.meter(gw, 'rs485-1', { config: { serial: { baud: 19200, parity: 'even', stopBits: 2 } } });
    expect(busSerialSettings.check(b.change(() => {}, [m1, m2]))).toMatchObject([
      { code: 'SERIAL_SETTINGS_MISMATCH', assetIds: [m1, gw], path: '/serial/parity' },
      { code: 'SERIAL_SETTINGS_MISMATCH', assetIds: [m2, gw], path: '/serial/stopBits' },
    ]);
  });

  it('reports a device wrong in several fields once, pointing at its serial block', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1', { config: { serial: { baud: 9600, parity: 'none', stopBits: 2 } } });
    expect(busSerialSettings.check(b.change(() => {}, [m]))).toMatchObject([{ assetIds: [m, gw], path: '/serial' }]);
  });

  it('flags every device on the bus when the gateway changes the bus baud rate, naming each', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ name: 'GW-1' });
    const m1 = b.meter(gw, 'rs485-1');
    const m2 = b.meter(gw, 'rs485-1');
    const c = b.controller(gw, 'rs485-1');
    b.meter(gw, 'rs485-2');
    const vs = busSerialSettings.check(b.change((g) => { busOf(g, gw, 'rs485-1').baud = 38400; }, [gw]));
    expect(vs).toHaveLength(3);
    expect(vs.map((v) => v.assetIds)).toEqual([[gw, m1], [gw, m2], [gw, c]]);
    for (const v of vs) {
      expect(v).toMatchObject({ code: 'SERIAL_SETTINGS_MISMATCH', severity: 'error', path: '/buses/rs485-1/baud' });
      expect(v.message).toContain('bus rs485-1 of gateway GW-1 runs 38400 baud');
    }
  });

  it('accepts a bus change that moves every device on the bus to the new settings', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m1 = b.meter(gw, 'rs485-1');
    const m2 = b.meter(gw, 'rs485-1');
    const ctx = b.change((g) => {
      busOf(g, gw, 'rs485-1').baud = 38400;
      serialOf(g, m1).baud = 38400;
      serialOf(g, m2).baud = 38400;
    }, [gw, m1, m2]);
    expect(busSerialSettings.check(ctx)).toEqual([]);
  });

  it('ignores mismatched devices the change did not reach', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.meter(gw, 'rs485-1', { config: { serial: { baud: 9600, parity: 'even', stopBits: 1 } } });
    const ok = b.meter(gw, 'rs485-1');
    expect(busSerialSettings.check(b.change(() => {}, [ok]))).toEqual([]);
  });
});
