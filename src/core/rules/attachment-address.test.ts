import { describe, expect, it } from 'vitest';
import { builtinCatalog, Catalog } from '../catalog/catalog.ts';
import type { ConfigDoc } from '../graph/types.ts';
import { SiteBuilder } from '../testing/site-builder.ts';
import { attachmentAddress } from './attachment-address.ts';

const MSTP_BUS = { protocol: 'bacnet-mstp', baud: 38400, parity: 'none', stopBits: 1, maxDevices: 32, maxMaster: 127 };
const check = (b: SiteBuilder, ...ids: string[]) => attachmentAddress.check(b.change(() => {}, ids));
const buses = (b: SiteBuilder, gw: string) => b.asset(gw).config.buses as Record<string, ConfigDoc>;

describe('attachment-address', () => {
  it('accepts a default site with devices on both buses, a Modbus sensor and a meter on IP', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.meter(gw, 'rs485-1');
    const c = b.controller(gw, 'rs485-2');
    b.sensor(c, 'ui-1');
    b.sensor(gw, 'rs485-1', { model: 'airq-co2-mb' });
    b.meter(gw, null, { model: 'ampera-pm-5560', config: { ip: '10.20.0.40' } });
    expect(attachmentAddress.check(b.whole())).toEqual([]);
  });

  it('refuses a meter on a Modbus RTU bus without a unit id', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    delete b.asset(m).config.unitId;
    expect(check(b, m)).toMatchObject([
      { rule: 'attachment-address', code: 'ADDRESS_MISSING', severity: 'error', assetIds: [m, gw], path: '/unitId' },
    ]);
  });

  it('refuses a meter on a Modbus RTU bus without serial settings', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    delete b.asset(m).config.serial;
    expect(check(b, m)).toMatchObject([{ code: 'ADDRESS_MISSING', severity: 'error', assetIds: [m, gw], path: '/serial' }]);
  });

  it('accepts a meter with a unit id and serial settings', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1', { config: { unitId: 12 } });
    expect(check(b, m)).toEqual([]);
  });

  it('refuses a controller on an MS/TP bus without an MS/TP MAC', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    buses(b, gw)['rs485-1'] = { ...MSTP_BUS };
    const c = b.controller(gw, 'rs485-1');
    expect(check(b, c)).toMatchObject([{ code: 'ADDRESS_MISSING', severity: 'error', assetIds: [c, gw], path: '/mstpMac' }]);
  });

  it('accepts a controller on an MS/TP bus with an MS/TP MAC', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    buses(b, gw)['rs485-1'] = { ...MSTP_BUS };
    const c = b.controller(gw, 'rs485-1', { config: { mstpMac: 4 } });
    expect(check(b, c)).toEqual([]);
  });

  it('flags every device that needs a MAC when the gateway switches their bus to MS/TP', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c1 = b.controller(gw, 'rs485-1');
    const c2 = b.controller(gw, 'rs485-1');
    b.controller(gw, 'rs485-2');
    const ctx = b.change((g) => {
      (g.assets.get(gw)!.config.buses as Record<string, ConfigDoc>)['rs485-1'] = { ...MSTP_BUS };
    }, [gw]);
    const vs = attachmentAddress.check(ctx);
    expect(vs).toHaveLength(2);
    expect(vs).toMatchObject([
      { code: 'ADDRESS_MISSING', assetIds: [gw, c1], path: '/buses/rs485-1/protocol' },
      { code: 'ADDRESS_MISSING', assetIds: [gw, c2], path: '/buses/rs485-1/protocol' },
    ]);
  });

  it('refuses a meter on IP without an IP address', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, null, { model: 'ampera-pm-5560' });
    expect(check(b, m)).toMatchObject([{ code: 'ADDRESS_MISSING', severity: 'error', assetIds: [m, gw], path: '/ip' }]);
  });

  it('accepts a meter on IP with an IP address', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, null, { model: 'ampera-pm-5560', config: { ip: '10.20.0.41' } });
    expect(check(b, m)).toEqual([]);
  });

  it('refuses a meter on a bus port the gateway has not configured', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    delete buses(b, gw)['rs485-2'];
    const m = b.meter(gw, 'rs485-2');
    const [v, ...rest] = check(b, m);
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ code: 'BUS_NOT_CONFIGURED', severity: 'error', assetIds: [m, gw] });
    expect(v.path).toBeUndefined();
  });

  it('refuses removing a bus from the gateway while a meter still hangs on it', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-2');
    const ctx = b.change((g) => {
      delete (g.assets.get(gw)!.config.buses as Record<string, ConfigDoc>)['rs485-2'];
    }, [gw]);
    expect(attachmentAddress.check(ctx)).toMatchObject([{ code: 'BUS_NOT_CONFIGURED', assetIds: [gw, m], path: '/buses/rs485-2' }]);
  });

  it('accepts a meter on a configured bus of the same gateway', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    delete buses(b, gw)['rs485-2'];
    const m = b.meter(gw, 'rs485-1');
    expect(check(b, m)).toEqual([]);
  });

  it('refuses a Modbus-only meter on an MS/TP bus', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    buses(b, gw)['rs485-1'] = { ...MSTP_BUS };
    const m = b.meter(gw, 'rs485-1', { config: { mstpMac: 9 } });
    expect(check(b, m)).toMatchObject([{ code: 'PROTOCOL_NOT_SUPPORTED', severity: 'error', assetIds: [m, gw] }]);
  });

  it('refuses a device on IP whose model speaks no IP protocol', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, null, { model: 'ampera-pm-5560', config: { ip: '10.20.0.41' } });
    const serialOnly = new Catalog(
      builtinCatalog().models.map((x) => (x.id === 'ampera-pm-5560' ? { ...x, capabilities: [{ name: 'modbus-rtu', minFirmware: '1.0.0' }] } : x)),
    );
    const ctx = { ...b.change(() => {}, [m]), catalog: serialOnly };
    expect(attachmentAddress.check(ctx)).toMatchObject([{ code: 'PROTOCOL_NOT_SUPPORTED', severity: 'error', assetIds: [m, gw] }]);
  });

  it('reports every missing address of a touched device', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    delete b.asset(m).config.unitId;
    delete b.asset(m).config.serial;
    expect(check(b, m).map((v) => v.path)).toEqual(['/unitId', '/serial']);
  });

  it('ignores devices the change did not reach', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const bad = b.meter(gw, 'rs485-1');
    delete b.asset(bad).config.unitId;
    const ok = b.meter(gw, 'rs485-1');
    expect(check(b, ok)).toEqual([]);
  });
});
