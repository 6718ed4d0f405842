import { describe, it, expect } from 'vitest';
import { SiteBuilder } from '../testing/site-builder.ts';
import { serialKey, serialUnique } from './serial-unique.ts';
import type { RuleContext } from './types.ts';

const check = (ctx: RuleContext) => serialUnique.check(ctx);
const setSerial = (b: SiteBuilder, id: string, serial: string | null, fleet = new Map<string, string>()) =>
  b.change((g) => {
    g.assets.get(id)!.serial = serial;
  }, [id], [], fleet);

describe('serial-unique', () => {
  it('passes a default site with a gateway, a controller with sensors and meters', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    b.sensor(c, 'ui-1');
    b.meter(gw, 'rs485-1');
    expect(check(b.whole())).toEqual([]);
  });

  it('refuses a serial another asset of the site already holds', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ serial: 'NX-1001' });
    const m = b.meter(gw, 'rs485-1', { name: 'M-1' });
    const v = check(setSerial(b, m, 'NX-1001'));
    expect(v).toEqual([expect.objectContaining({ code: 'SERIAL_TAKEN', severity: 'error', assetIds: [m, gw] })]);
    expect(v[0].message).toContain('meter M-1 is given serial NX-1001');
  });

  it('sees a serial changed in place on an asset object it has checked before', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ serial: 'NX-1001' });
    const m = b.meter(gw, 'rs485-1', { name: 'M-1', serial: 'NX-2002' });
    const ctx = b.whole();
    expect(check(ctx)).toEqual([]); // every serial's key is kept beside its asset object now
    ctx.candidate.assets.get(m)!.serial = ' nx-1001';
    expect(check(ctx)).toEqual([expect.objectContaining({ code: 'SERIAL_TAKEN', assetIds: expect.arrayContaining([m, gw]) })]);
  });

  it('accepts a serial that differs from every other in the site', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ serial: 'NX-1001' });
    const m = b.meter(gw, 'rs485-1');
    expect(check(setSerial(b, m, 'NX-1002'))).toEqual([]);
  });

  it('compares serials ignoring case and surrounding spaces', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ serial: 'NX-1001' });
    const m = b.meter(gw, 'rs485-1');
    expect(check(setSerial(b, m, ' nx-1001 '))).toEqual([expect.objectContaining({ code: 'SERIAL_TAKEN', assetIds: [m, gw] })]);
    expect(serialKey('  ')).toBeUndefined();
  });

  it('lets any number of assets have no serial, or a blank one', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ serial: null });
    const m = b.meter(gw, 'rs485-1', { serial: '' });
    expect(check(setSerial(b, m, '  '))).toEqual([]);
    expect(check(b.whole())).toEqual([]);
  });

  it('reports a duplicate pair once when both assets change', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m1 = b.meter(gw, 'rs485-1');
    const m2 = b.meter(gw, 'rs485-1');
    const ctx = b.change((g) => {
      g.assets.get(m1)!.serial = 'EM-7';
      g.assets.get(m2)!.serial = 'EM-7';
    }, [m1, m2]);
    expect(check(ctx)).toEqual([expect.objectContaining({ code: 'SERIAL_TAKEN', assetIds: [m1, m2] })]);
  });

  it('refuses a serial an asset in another site holds', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    const v = check(setSerial(b, m, 'EM-9', new Map([['EM-9', 'asset-elsewhere']])));
    expect(v).toEqual([expect.objectContaining({ code: 'SERIAL_TAKEN', severity: 'error', assetIds: [m, 'asset-elsewhere'] })]);
    expect(v[0].message).toContain('another site');
  });

  it('matches the other site\'s serial however the write path spelled it', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    const v = check(setSerial(b, m, 'em-9', new Map([['EM-9 ', 'asset-elsewhere']])));
    expect(v.map((x) => x.assetIds)).toEqual([[m, 'asset-elsewhere']]);
  });

  it('accepts a serial whose only holder the write path found is the asset itself', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    expect(check(setSerial(b, m, 'EM-9', new Map([['EM-9', m]])))).toEqual([]);
    expect(check(setSerial(b, m, 'EM-10', new Map([['EM-9', 'asset-elsewhere']])))).toEqual([]);
  });

  it('ignores duplicates among assets the change does not touch', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.meter(gw, 'rs485-1', { serial: 'DUP' });
    b.meter(gw, 'rs485-1', { serial: 'DUP' });
    const m = b.meter(gw, 'rs485-2');
    expect(check(setSerial(b, m, 'EM-11'))).toEqual([]);
  });
});
