import { describe, expect, it } from 'vitest';
import type { ConfigDoc, SiteGraph } from '../graph/types.ts';
import { SiteBuilder } from '../testing/site-builder.ts';
import { busUnitIdUnique } from './bus-unit-id-unique.ts';

const setUnitId = (id: string, unitId: number) => (g: SiteGraph) => {
  g.assets.get(id)!.config.unitId = unitId;
};
const MSTP_BUS = { protocol: 'bacnet-mstp', baud: 38400, parity: 'none', stopBits: 1, maxDevices: 32 };

describe('bus-unit-id-unique', () => {
  it('accepts a default site where every device got its own unit id', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.meter(gw, 'rs485-1');
    b.meter(gw, 'rs485-1');
    b.controller(gw, 'rs485-2');
    b.sensor(gw, 'rs485-2', { model: 'airq-co2-mb' });
    expect(busUnitIdUnique.check(b.whole())).toEqual([]);
  });

  it('refuses a unit id another meter on the bus already uses', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m1 = b.meter(gw, 'rs485-1', { name: 'M-1', config: { unitId: 5 } });
    const m2 = b.meter(gw, 'rs485-1', { name: 'M-2', config: { unitId: 6 } });
    const [v, ...rest] = busUnitIdUnique.check(b.change(setUnitId(m2, 5), [m2]));
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ rule: 'bus-unit-id-unique', code: 'UNIT_ID_TAKEN', severity: 'error', assetIds: [m2, m1], path: '/unitId' });
    expect(v.message).toContain('already used by meter M-1');
    expect(v.message).toContain('lowest free: 1');
  });

  it('accepts a unit id that is free on the bus', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.meter(gw, 'rs485-1', { config: { unitId: 5 } });
    const m2 = b.meter(gw, 'rs485-1', { config: { unitId: 6 } });
    expect(busUnitIdUnique.check(b.change(setUnitId(m2, 7), [m2]))).toEqual([]);
  });

  it('accepts the same unit id on the other bus of the gateway', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.meter(gw, 'rs485-1', { config: { unitId: 5 } });
    const m2 = b.meter(gw, 'rs485-2', { config: { unitId: 6 } });
    expect(busUnitIdUnique.check(b.change(setUnitId(m2, 5), [m2]))).toEqual([]);
  });

  it('reports two new meters given the same unit id once, not once per meter', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m1 = b.meter(gw, 'rs485-1', { config: { unitId: 8 } });
    const m2 = b.meter(gw, 'rs485-1', { config: { unitId: 8 } });
    expect(busUnitIdUnique.check(b.change(() => {}, [m1, m2]))).toMatchObject([{ code: 'UNIT_ID_TAKEN', assetIds: [m1, m2] }]);
  });

  it('accepts a change set that swaps the unit ids of two meters', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m1 = b.meter(gw, 'rs485-1', { config: { unitId: 5 } });
    const m2 = b.meter(gw, 'rs485-1', { config: { unitId: 6 } });
    const ctx = b.change((g) => { setUnitId(m1, 6)(g); setUnitId(m2, 5)(g); }, [m1, m2]);
    expect(busUnitIdUnique.check(ctx)).toEqual([]);
  });

  it('refuses swapping the unit ids of two meters whose devices still run the old ids', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m1 = b.meter(gw, 'rs485-1', { name: 'M-1', config: { unitId: 5 }, deployed: true });
    const m2 = b.meter(gw, 'rs485-1', { name: 'M-2', config: { unitId: 6 }, deployed: true });
    const ctx = b.change((g) => { setUnitId(m1, 6)(g); setUnitId(m2, 5)(g); }, [m1, m2]);
    const vs = busUnitIdUnique.check(ctx);
    expect(vs).toMatchObject([
      { code: 'UNIT_ID_TAKEN', assetIds: [m1, m2] },
      { code: 'UNIT_ID_TAKEN', assetIds: [m2, m1] },
    ]);
    expect(vs[0].message).toContain('still deployed on meter M-2 (version 1)');
  });

  it('refuses a unit id still deployed on another meter until that meter acknowledges its new one', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m1 = b.meter(gw, 'rs485-1', { name: 'M-1', config: { unitId: 4 } });
    const m2 = b.meter(gw, 'rs485-1', { name: 'M-2', config: { unitId: 5 }, deployed: true });
    // M-2 was readdressed to 9 (configuration version 2); its device still answers to 5.
    b.asset(m2).config.unitId = 9;
    b.asset(m2).configVersion = 2;
    const [v] = busUnitIdUnique.check(b.change(setUnitId(m1, 5), [m1]));
    expect(v).toMatchObject({ code: 'UNIT_ID_TAKEN', severity: 'error', assetIds: [m1, m2], path: '/unitId' });
    expect(v.message).toContain('still deployed on meter M-2 (version 1) until its device acknowledges the new configuration');

    b.asset(m2).deployed = { version: 2, parentId: gw, port: 'rs485-1', config: structuredClone(b.asset(m2).config) };
    expect(busUnitIdUnique.check(b.change(setUnitId(m1, 5), [m1]))).toEqual([]);
  });

  it('does not hold a meter to its own still-deployed unit id', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1', { config: { unitId: 5 }, deployed: true });
    const ctx = b.change((g) => { g.assets.get(m)!.config.pollIntervalMs = 30000; }, [m]);
    expect(ctx.index.claimsOnPort(gw, 'rs485-1')).toHaveLength(2);
    expect(busUnitIdUnique.check(ctx)).toEqual([]);
  });

  it('refuses the broadcast address 0 and the reserved 248', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m1 = b.meter(gw, 'rs485-1', { config: { unitId: 0 } });
    const m2 = b.meter(gw, 'rs485-1', { config: { unitId: 248 } });
    expect(busUnitIdUnique.check(b.change(() => {}, [m1, m2]))).toMatchObject([
      { code: 'UNIT_ID_RESERVED', severity: 'error', assetIds: [m1], path: '/unitId' },
      { code: 'UNIT_ID_RESERVED', severity: 'error', assetIds: [m2], path: '/unitId' },
    ]);
  });

  it('accepts the highest slave address 247', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1', { config: { unitId: 247 } });
    expect(busUnitIdUnique.check(b.change(() => {}, [m]))).toEqual([]);
  });

  it('leaves unit ids on a BACnet MS/TP bus alone', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    (b.asset(gw).config.buses as Record<string, ConfigDoc>)['rs485-1'] = { ...MSTP_BUS };
    const c1 = b.controller(gw, 'rs485-1', { config: { unitId: 3, mstpMac: 1 } });
    const c2 = b.controller(gw, 'rs485-1', { config: { unitId: 3, mstpMac: 2 } });
    expect(busUnitIdUnique.check(b.change(() => {}, [c1, c2]))).toEqual([]);
  });

  it('flags duplicates that appear when the gateway switches a bus to Modbus RTU', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    (b.asset(gw).config.buses as Record<string, ConfigDoc>)['rs485-1'] = { ...MSTP_BUS };
    const c1 = b.controller(gw, 'rs485-1', { config: { unitId: 3, mstpMac: 1 } });
    const c2 = b.controller(gw, 'rs485-1', { config: { unitId: 3, mstpMac: 2 } });
    const ctx = b.change((g) => {
      (g.assets.get(gw)!.config.buses as Record<string, ConfigDoc>)['rs485-1'] = { protocol: 'modbus-rtu', baud: 19200, parity: 'even', stopBits: 1, maxDevices: 32 };
    }, [gw]);
    expect(busUnitIdUnique.check(ctx)).toMatchObject([{ code: 'UNIT_ID_TAKEN', assetIds: [c1, c2] }]);
  });

  it('ignores duplicates on parts of the site the change did not reach', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.meter(gw, 'rs485-1', { config: { unitId: 5 } });
    b.meter(gw, 'rs485-1', { config: { unitId: 5 } });
    const m3 = b.meter(gw, 'rs485-1', { config: { unitId: 7 } });
    expect(busUnitIdUnique.check(b.change(setUnitId(m3, 8), [m3]))).toEqual([]);
  });
});
