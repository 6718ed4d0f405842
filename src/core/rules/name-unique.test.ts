import { describe, it, expect } from 'vitest';
import { SiteBuilder } from '../testing/site-builder.ts';
import { nameUnique } from './name-unique.ts';
import type { RuleContext } from './types.ts';

const check = (ctx: RuleContext) => nameUnique.check(ctx);
const rename = (b: SiteBuilder, id: string, name: string) =>
  b.change((g) => {
    g.assets.get(id)!.name = name;
  }, [id]);

describe('name-unique', () => {
  it('passes a default site with a gateway, a controller with sensors and meters', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    b.sensor(c, 'ui-1');
    b.meter(gw, 'rs485-1');
    expect(check(b.whole())).toEqual([]);
  });

  it('refuses a name another asset of the site already has', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ name: 'GW-1' });
    const m = b.meter(gw, 'rs485-1', { name: 'M-1' });
    const v = check(rename(b, m, 'GW-1'));
    expect(v).toEqual([expect.objectContaining({ code: 'NAME_TAKEN', severity: 'error', assetIds: [m, gw] })]);
    expect(v[0].message).toContain('gateway GW-1');
  });

  it('sees a name changed in place on an asset object it has checked before', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ name: 'GW-1' });
    const m = b.meter(gw, 'rs485-1', { name: 'M-1' });
    const ctx = b.whole();
    expect(check(ctx)).toEqual([]); // every name's key is kept beside its asset object now
    ctx.candidate.assets.get(m)!.name = 'gw-1';
    expect(check(ctx)).toEqual([expect.objectContaining({ code: 'NAME_TAKEN', assetIds: expect.arrayContaining([m, gw]) })]);
  });

  it('refuses a name that differs only in case and surrounding spaces', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m1 = b.meter(gw, 'rs485-1', { name: 'M-1' });
    const m2 = b.meter(gw, 'rs485-1', { name: 'M-2' });
    expect(check(rename(b, m2, ' m-1 '))).toEqual([expect.objectContaining({ code: 'NAME_TAKEN', assetIds: [m2, m1] })]);
  });

  it('accepts a name no other asset of the site has', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.meter(gw, 'rs485-1', { name: 'M-1' });
    const m2 = b.meter(gw, 'rs485-1', { name: 'M-2' });
    expect(check(rename(b, m2, 'M-10'))).toEqual([]);
  });

  it('accepts keeping its own name with a different case', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1', { name: 'M-1' });
    expect(check(rename(b, m, 'm-1'))).toEqual([]);
  });

  it('reports a clash once when both assets change', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m1 = b.meter(gw, 'rs485-1');
    const m2 = b.meter(gw, 'rs485-1');
    const ctx = b.change((g) => {
      g.assets.get(m1)!.name = 'Main meter';
      g.assets.get(m2)!.name = 'MAIN METER';
    }, [m1, m2]);
    expect(check(ctx)).toEqual([expect.objectContaining({ code: 'NAME_TAKEN', assetIds: [m1, m2] })]);
  });

  it('ignores clashes among assets the change does not touch', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.meter(gw, 'rs485-1', { name: 'Same' });
    b.meter(gw, 'rs485-1', { name: 'same' });
    const m = b.meter(gw, 'rs485-2');
    expect(check(rename(b, m, 'Other'))).toEqual([]);
  });
});
