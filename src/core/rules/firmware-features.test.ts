import { describe, it, expect } from 'vitest';
import type { Asset } from '../graph/types.ts';
import { SiteBuilder } from '../testing/site-builder.ts';
import { firmwareFeatures } from './firmware-features.ts';
import type { RuleContext } from './types.ts';

const check = (ctx: RuleContext) => firmwareFeatures.check(ctx);
const edit = (b: SiteBuilder, id: string, mutate: (a: Asset) => void) => b.change((g) => mutate(g.assets.get(id)!), [id]);
const addProtocol = (p: string) => (a: Asset) => {
  a.config.protocols = [...(a.config.protocols as string[]), p];
};

describe('firmware-features', () => {
  it('passes a default site with a gateway, a controller with sensors and meters', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    b.sensor(c, 'ui-1');
    b.meter(gw, 'rs485-1');
    b.sensor(gw, 'rs485-2', { model: 'airq-co2-mb' });
    expect(check(b.whole())).toEqual([]);
  });

  it('refuses a protocol the gateway\'s firmware is too old for, saying what to do', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ name: 'GW-1', firmware: '1.4.2' });
    const v = check(edit(b, gw, addProtocol('bacnet-mstp')));
    expect(v).toEqual([
      expect.objectContaining({ code: 'FEATURE_NEEDS_FIRMWARE', severity: 'error', assetIds: [gw], path: '/protocols/2' }),
    ]);
    expect(v[0].message).toBe(
      'GW-1 runs firmware 1.4.2; bacnet-mstp needs 2.1.0 or later — upgrade the firmware or remove bacnet-mstp from its protocols.',
    );
  });

  it('accepts the protocol on exactly the firmware that enables it', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ firmware: '2.1.0' });
    expect(check(edit(b, gw, addProtocol('bacnet-mstp')))).toEqual([]);
  });

  it('refuses a firmware downgrade below a protocol the gateway runs', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ config: { protocols: ['modbus-rtu', 'mqtt', 'bacnet-ip'] } });
    const v = check(edit(b, gw, (a) => (a.firmware = '1.4.2')));
    expect(v).toEqual([expect.objectContaining({ code: 'FEATURE_NEEDS_FIRMWARE', assetIds: [gw], path: '/protocols/2' })]);
  });

  it('reports a protocol once when both the protocol list and a bus ask for it', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ firmware: '1.4.2' });
    const ctx = edit(b, gw, (a) => {
      addProtocol('bacnet-mstp')(a);
      (a.config.buses as Record<string, Record<string, unknown>>)['rs485-2'].protocol = 'bacnet-mstp';
    });
    expect(check(ctx)).toEqual([expect.objectContaining({ code: 'FEATURE_NEEDS_FIRMWARE', path: '/protocols/2' })]);
  });

  it('refuses a bus protocol the firmware is too old for, pointing at the bus', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ firmware: '1.4.2' });
    const ctx = edit(b, gw, (a) => {
      (a.config.buses as Record<string, Record<string, unknown>>)['rs485-2'].protocol = 'bacnet-mstp';
    });
    expect(check(ctx)).toEqual([
      expect.objectContaining({ code: 'FEATURE_NEEDS_FIRMWARE', assetIds: [gw], path: '/buses/rs485-2/protocol' }),
    ]);
  });

  it('refuses a protocol the gateway model does not support in any firmware', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ model: 'orbis-edge-10', name: 'EDGE-1' });
    const v = check(edit(b, gw, addProtocol('bacnet-ip')));
    expect(v).toEqual([
      expect.objectContaining({ code: 'FEATURE_NOT_SUPPORTED', severity: 'error', assetIds: [gw], path: '/protocols/2' }),
    ]);
    expect(v[0].message).toContain('does not support bacnet-ip');
  });

  it('accepts a protocol the gateway model supports on its firmware', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ model: 'orbis-edge-10', firmware: '1.2.0' });
    expect(check(edit(b, gw, addProtocol('modbus-tcp')))).toEqual([]);
  });

  it('checks only the model when the firmware is unknown', () => {
    const b = new SiteBuilder();
    const nexa = b.gateway({ firmware: null });
    const orbis = b.gateway({ model: 'orbis-edge-10', firmware: null });
    expect(check(edit(b, nexa, addProtocol('bacnet-mstp')))).toEqual([]);
    expect(check(edit(b, orbis, addProtocol('bacnet-mstp')))).toEqual([
      expect.objectContaining({ code: 'FEATURE_NOT_SUPPORTED', assetIds: [orbis] }),
    ]);
  });

  it('refuses an MS/TP address on a controller whose firmware predates BACnet MS/TP', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1', { name: 'C-1', firmware: '1.6.0' });
    const v = check(edit(b, c, (a) => (a.config.mstpMac = 5)));
    expect(v).toEqual([expect.objectContaining({ code: 'FEATURE_NEEDS_FIRMWARE', assetIds: [c], path: '/mstpMac' })]);
    expect(v[0].message).toContain('C-1 runs firmware 1.6.0; bacnet-mstp needs 2.0.0 or later');
  });

  it('accepts an MS/TP address on a controller with BACnet MS/TP firmware', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1', { firmware: '2.0.0' });
    expect(check(edit(b, c, (a) => (a.config.mstpMac = 5)))).toEqual([]);
  });

  it('refuses putting a serial-only meter on IP', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    const ctx = edit(b, m, (a) => {
      a.port = null;
      a.config = { ...a.config, ip: '10.20.0.50', unitId: undefined, serial: undefined };
    });
    expect(check(ctx)).toEqual([expect.objectContaining({ code: 'FEATURE_NOT_SUPPORTED', assetIds: [m], path: '/ip' })]);
  });

  it('refuses Modbus TCP on a meter firmware that predates it, and accepts it from that release on', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const old = b.meter(gw, null, { model: 'ampera-pm-5560', firmware: '1.0.0', config: { ip: '10.20.0.60' } });
    const current = b.meter(gw, null, { model: 'ampera-pm-5560', firmware: '2.0.0', config: { ip: '10.20.0.61' } });
    expect(check(b.change(() => {}, [old]))).toEqual([
      expect.objectContaining({ code: 'FEATURE_NEEDS_FIRMWARE', assetIds: [old], path: '/ip' }),
    ]);
    expect(check(b.change(() => {}, [current]))).toEqual([]);
  });

  it('asks BACnet/IP of a controller on IP with a BACnet instance', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, null, { model: 'kelvo-dc-16', firmware: '1.0.0', config: { ip: '10.20.0.70', bacnetInstance: 1001 } });
    const v = check(b.change(() => {}, [c]));
    expect(v).toEqual([expect.objectContaining({ code: 'FEATURE_NEEDS_FIRMWARE', assetIds: [c], path: '/bacnetInstance' })]);
    expect(v[0].message).toContain('bacnet-ip needs 1.5.0');
  });

  it('warns about a firmware that is not a published release of the model', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ firmware: '2.2.0' });
    expect(check(b.change(() => {}, [gw]))).toEqual([
      expect.objectContaining({ code: 'FIRMWARE_UNKNOWN', severity: 'warning', assetIds: [gw] }),
    ]);
  });

  it('still compares features on an unpublished firmware', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ firmware: '1.4.3' });
    expect(check(edit(b, gw, addProtocol('bacnet-ip'))).map((v) => v.code)).toEqual(['FIRMWARE_UNKNOWN', 'FEATURE_NEEDS_FIRMWARE']);
  });

  it('accepts a published firmware', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ firmware: '1.0.0' });
    expect(check(b.change(() => {}, [gw]))).toEqual([]);
  });

  it('ignores assets the change does not touch', () => {
    const b = new SiteBuilder();
    b.gateway({ firmware: '1.4.2', config: { protocols: ['modbus-rtu', 'bacnet-mstp'] } });
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    expect(check(edit(b, m, (a) => (a.config.pollIntervalMs = 20000)))).toEqual([]);
  });
});
