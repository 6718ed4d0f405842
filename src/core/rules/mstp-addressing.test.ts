import { describe, expect, it } from 'vitest';
import type { ConfigDoc, SiteGraph } from '../graph/types.ts';
import { SiteBuilder } from '../testing/site-builder.ts';
import { mstpAddressing } from './mstp-addressing.ts';

const SERIAL = { baud: 38400, parity: 'none', stopBits: 1 };

/** A gateway whose rs485-1 runs BACnet MS/TP. */
function site(maxMaster?: number) {
  const b = new SiteBuilder();
  const gw = b.gateway({ name: 'GW-1' });
  const bus: ConfigDoc = { protocol: 'bacnet-mstp', ...SERIAL, maxDevices: 32 };
  if (maxMaster !== undefined) bus.maxMaster = maxMaster;
  (b.asset(gw).config.buses as Record<string, ConfigDoc>)['rs485-1'] = bus;
  const ctrl = (mac: number, opts: { name?: string; deployed?: boolean } = {}) =>
    b.controller(gw, 'rs485-1', { ...opts, config: { mstpMac: mac, serial: SERIAL } });
  return { b, gw, ctrl };
}
const setMac = (id: string, mac: number) => (g: SiteGraph) => {
  g.assets.get(id)!.config.mstpMac = mac;
};

describe('mstp-addressing', () => {
  it('accepts an MS/TP bus where every controller has its own MAC', () => {
    const { b, ctrl } = site();
    ctrl(1);
    ctrl(2);
    ctrl(127);
    expect(mstpAddressing.check(b.whole())).toEqual([]);
  });

  it('accepts a default Modbus site, where MS/TP addressing does not apply', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.meter(gw, 'rs485-1', { config: { mstpMac: 1 } });
    b.controller(gw, 'rs485-1', { config: { mstpMac: 1 } });
    expect(mstpAddressing.check(b.whole())).toEqual([]);
  });

  it('refuses a MAC another controller on the bus already uses', () => {
    const { b, ctrl } = site();
    const c1 = ctrl(3, { name: 'C-1' });
    const c2 = ctrl(4);
    const [v, ...rest] = mstpAddressing.check(b.change(setMac(c2, 3), [c2]));
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ rule: 'mstp-addressing', code: 'MSTP_MAC_TAKEN', severity: 'error', assetIds: [c2, c1], path: '/mstpMac' });
    expect(v.message).toContain('MS/TP MAC 3 on bus rs485-1 of gateway GW-1 is already used by controller C-1');
  });

  it('accepts a MAC that is free on the bus', () => {
    const { b, ctrl } = site();
    ctrl(3);
    const c2 = ctrl(4);
    expect(mstpAddressing.check(b.change(setMac(c2, 5), [c2]))).toEqual([]);
  });

  it('reports two controllers given the same MAC in one change once', () => {
    const { b, ctrl } = site();
    const c1 = ctrl(7);
    const c2 = ctrl(7);
    expect(mstpAddressing.check(b.change(() => {}, [c1, c2]))).toMatchObject([{ code: 'MSTP_MAC_TAKEN', assetIds: [c1, c2] }]);
  });

  it('refuses a MAC still deployed on another controller until it acknowledges its new one', () => {
    const { b, gw, ctrl } = site();
    const c1 = ctrl(3);
    const c2 = ctrl(5, { name: 'C-2', deployed: true });
    b.asset(c2).config.mstpMac = 9;
    b.asset(c2).configVersion = 2;
    const [v] = mstpAddressing.check(b.change(setMac(c1, 5), [c1]));
    expect(v).toMatchObject({ code: 'MSTP_MAC_TAKEN', severity: 'error', assetIds: [c1, c2], path: '/mstpMac' });
    expect(v.message).toContain('still deployed on controller C-2 (version 1) until its device acknowledges the new configuration');

    b.asset(c2).deployed = { version: 2, parentId: gw, port: 'rs485-1', config: structuredClone(b.asset(c2).config) };
    expect(mstpAddressing.check(b.change(setMac(c1, 5), [c1]))).toEqual([]);
  });

  it('does not hold a controller to its own still-deployed MAC', () => {
    const { b, ctrl } = site();
    const c = ctrl(6, { deployed: true });
    const ctx = b.change((g) => { g.assets.get(c)!.config.pollIntervalMs = 20000; }, [c]);
    expect(mstpAddressing.check(ctx)).toEqual([]);
  });

  it('refuses a MAC above the bus maxMaster', () => {
    const { b, gw, ctrl } = site(31);
    const c = ctrl(10);
    const [v, ...rest] = mstpAddressing.check(b.change(setMac(c, 40), [c]));
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ code: 'MSTP_MAC_ABOVE_MAX_MASTER', severity: 'error', assetIds: [c, gw], path: '/mstpMac' });
    expect(v.message).toContain('maxMaster 31');
  });

  it('accepts a MAC equal to maxMaster', () => {
    const { b, ctrl } = site(31);
    const c = ctrl(10);
    expect(mstpAddressing.check(b.change(setMac(c, 31), [c]))).toEqual([]);
  });

  it('accepts MAC 127 when the bus leaves maxMaster at its default', () => {
    const { b, ctrl } = site();
    const c = ctrl(127);
    expect(mstpAddressing.check(b.change(() => {}, [c]))).toEqual([]);
  });

  it('flags every controller stranded when the gateway lowers maxMaster', () => {
    const { b, gw, ctrl } = site(127);
    ctrl(5);
    const c25 = ctrl(25);
    const c30 = ctrl(30);
    const ctx = b.change((g) => {
      (g.assets.get(gw)!.config.buses as Record<string, ConfigDoc>)['rs485-1'].maxMaster = 20;
    }, [gw]);
    expect(mstpAddressing.check(ctx)).toMatchObject([
      { code: 'MSTP_MAC_ABOVE_MAX_MASTER', assetIds: [gw, c25], path: '/buses/rs485-1/maxMaster' },
      { code: 'MSTP_MAC_ABOVE_MAX_MASTER', assetIds: [gw, c30], path: '/buses/rs485-1/maxMaster' },
    ]);
  });

  it('ignores conflicts on devices the change did not reach', () => {
    const { b, ctrl } = site(10);
    ctrl(4);
    ctrl(4);
    ctrl(50);
    const ok = ctrl(6);
    expect(mstpAddressing.check(b.change(() => {}, [ok]))).toEqual([]);
  });
});
