import { describe, expect, it } from 'vitest';
import type { ConfigDoc } from '../graph/types.ts';
import { SiteBuilder } from '../testing/site-builder.ts';
import { busUnitLoads } from './bus-unit-loads.ts';

/** A gateway whose rs485-1 poll table is large enough that only the electrical limit matters. */
function site(maxDevices = 64) {
  const b = new SiteBuilder();
  const gw = b.gateway();
  (b.asset(gw).config.buses as Record<string, ConfigDoc>)['rs485-1'].maxDevices = maxDevices;
  return { b, gw };
}
const meters = (b: SiteBuilder, gw: string, n: number, model = 'voltis-em-340') =>
  Array.from({ length: n }, () => b.meter(gw, 'rs485-1', { model }));

describe('bus-unit-loads', () => {
  it('accepts a default site with a few devices on each bus', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.meter(gw, 'rs485-1');
    b.controller(gw, 'rs485-1');
    b.sensor(gw, 'rs485-2', { model: 'airq-co2-mb' });
    expect(busUnitLoads.check(b.whole())).toEqual([]);
  });

  it('refuses a 33rd full-load meter on a 32-unit-load port, naming the new meter, the gateway and the rest', () => {
    const { b, gw } = site();
    const existing = meters(b, gw, 32);
    const extra = b.meter(gw, 'rs485-1');
    const [v, ...rest] = busUnitLoads.check(b.change(() => {}, [extra]));
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ rule: 'bus-unit-loads', code: 'BUS_UNIT_LOADS_EXCEEDED', severity: 'error', assetIds: [extra, gw, ...existing] });
    expect(v.message).toContain('33 unit loads from 33 devices');
  });

  it('accepts exactly 32 full-load meters', () => {
    const { b, gw } = site();
    const [first] = meters(b, gw, 32);
    expect(busUnitLoads.check(b.change(() => {}, [first]))).toEqual([]);
  });

  it('counts fractional loads: an eighth-load meter tips a full bus over', () => {
    const { b, gw } = site();
    meters(b, gw, 32);
    const light = b.meter(gw, 'rs485-1', { model: 'voltis-em-350-mv' });
    const [v] = busUnitLoads.check(b.change(() => {}, [light]));
    expect(v).toMatchObject({ code: 'BUS_UNIT_LOADS_EXCEEDED' });
    expect(v.message).toContain('32.125 unit loads');
  });

  it('accepts 31 full-load meters and eight eighth-load meters (exactly 32 unit loads)', () => {
    const { b, gw } = site();
    meters(b, gw, 31);
    const light = meters(b, gw, 8, 'voltis-em-350-mv');
    expect(busUnitLoads.check(b.change(() => {}, light))).toEqual([]);
  });

  it('counts a meter still deployed on the bus until its move is acknowledged', () => {
    const { b, gw } = site();
    meters(b, gw, 31);
    const moved = b.meter(gw, 'rs485-1', { name: 'M-moved', deployed: true });
    // Moved to rs485-2 in configuration version 2; its device has not acknowledged yet.
    b.asset(moved).port = 'rs485-2';
    b.asset(moved).configVersion = 2;
    const extra = b.meter(gw, 'rs485-1');
    const [v] = busUnitLoads.check(b.change(() => {}, [extra]));
    expect(v).toMatchObject({ code: 'BUS_UNIT_LOADS_EXCEEDED', severity: 'error' });
    expect(v.assetIds.slice(0, 2)).toEqual([extra, gw]);
    expect(v.assetIds).toContain(moved);
    expect(v.message).toContain('1 still deployed there until acknowledged');

    b.asset(moved).deployed = { version: 2, parentId: gw, port: 'rs485-2', config: structuredClone(b.asset(moved).config) };
    expect(busUnitLoads.check(b.change(() => {}, [extra]))).toEqual([]);
  });

  it('does not count a device twice for its own still-deployed placement on the same bus', () => {
    const { b, gw } = site();
    const all = meters(b, gw, 31);
    const m = b.meter(gw, 'rs485-1', { deployed: true });
    const ctx = b.change((g) => { g.assets.get(m)!.config.pollIntervalMs = 20000; }, [m]);
    expect(ctx.index.claimsOnPort(gw, 'rs485-1')).toHaveLength(all.length + 2);
    expect(busUnitLoads.check(ctx)).toEqual([]);
  });

  it('refuses more devices than the bus is configured for', () => {
    const { b, gw } = site(4);
    const existing = meters(b, gw, 4);
    const extra = b.meter(gw, 'rs485-1');
    const [v, ...rest] = busUnitLoads.check(b.change(() => {}, [extra]));
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ code: 'BUS_MAX_DEVICES_EXCEEDED', severity: 'error', assetIds: [extra, gw, ...existing] });
    expect(v.path).toBeUndefined();
  });

  it('accepts as many devices as the bus is configured for', () => {
    const { b, gw } = site(4);
    const [first] = meters(b, gw, 4);
    expect(busUnitLoads.check(b.change(() => {}, [first]))).toEqual([]);
  });

  it('refuses lowering maxDevices below the devices already on the bus, pointing at the setting', () => {
    const { b, gw } = site(8);
    const existing = meters(b, gw, 6);
    const ctx = b.change((g) => {
      (g.assets.get(gw)!.config.buses as Record<string, ConfigDoc>)['rs485-1'].maxDevices = 5;
    }, [gw]);
    expect(busUnitLoads.check(ctx)).toMatchObject([
      { code: 'BUS_MAX_DEVICES_EXCEEDED', assetIds: [gw, ...existing], path: '/buses/rs485-1/maxDevices' },
    ]);
  });

  it('reports both limits when a change breaks both', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    meters(b, gw, 32);
    const extra = b.meter(gw, 'rs485-1');
    expect(busUnitLoads.check(b.change(() => {}, [extra])).map((v) => v.code)).toEqual(['BUS_UNIT_LOADS_EXCEEDED', 'BUS_MAX_DEVICES_EXCEEDED']);
  });

  it('ignores an overloaded bus the change did not reach', () => {
    const { b, gw } = site();
    meters(b, gw, 40);
    const other = b.meter(gw, 'rs485-2');
    expect(busUnitLoads.check(b.change(() => {}, [other]))).toEqual([]);
  });
});
