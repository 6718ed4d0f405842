import { describe, it, expect } from 'vitest';
import { SiteBuilder } from '../testing/site-builder.ts';
import { ipUnique } from './ip-unique.ts';

/** A gateway, an IP controller and an IP meter on 10.20.0.40/.41. */
function site() {
  const b = new SiteBuilder();
  const gw = b.gateway({ name: 'GW-1' });
  const c = b.controller(gw, null, { name: 'C-1', config: { ip: '10.20.0.40' } });
  const m = b.meter(gw, null, { name: 'M-1', config: { ip: '10.20.0.41' }, deployed: true });
  return { b, gw, c, m };
}

/** Commits a new desired configuration of `id` that its device has not acknowledged yet. */
function pending(b: SiteBuilder, id: string, ip: string) {
  const a = b.asset(id);
  a.config = { ...a.config, ip };
  a.configVersion += 1;
}

/** The device of `id` acknowledges its desired configuration. */
function acknowledge(b: SiteBuilder, id: string) {
  const a = b.asset(id);
  a.deployed = { version: a.configVersion, parentId: a.parentId, port: a.port, config: structuredClone(a.config) };
}

const setIp = (b: SiteBuilder, id: string, ip: string) =>
  b.change((g) => {
    g.assets.get(id)!.config.ip = ip;
  }, [id]);

describe('ip-unique', () => {
  it('passes a default site with a gateway and a few devices', () => {
    const { b, gw } = site();
    b.meter(gw, 'rs485-1');
    expect(ipUnique.check(b.whole())).toEqual([]);
  });

  it("refuses an address another asset's desired configuration uses", () => {
    const { b, c, m } = site();
    const v = ipUnique.check(setIp(b, c, '10.20.0.41'));
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ rule: 'ip-unique', code: 'IP_TAKEN', severity: 'error', assetIds: [c, m], path: '/ip' });
    expect(v[0].message).toContain('already used by meter M-1');
  });

  it('accepts a free address next to a used one', () => {
    const { b, c } = site();
    expect(ipUnique.check(setIp(b, c, '10.20.0.42'))).toEqual([]);
  });

  it('refuses an address still deployed on another device, and accepts it once that device acknowledges', () => {
    const { b, c, m } = site();
    pending(b, m, '10.20.0.50');
    const v = ipUnique.check(setIp(b, c, '10.20.0.41'));
    expect(v).toEqual([expect.objectContaining({ code: 'IP_TAKEN', severity: 'error', assetIds: [c, m], path: '/ip' })]);
    expect(v[0].message).toContain('still deployed on meter M-1 (version 1) until its device acknowledges the new configuration');
    acknowledge(b, m);
    expect(ipUnique.check(setIp(b, c, '10.20.0.41'))).toEqual([]);
  });

  it('does not report an asset against its own still-deployed address', () => {
    const { b, m } = site();
    pending(b, m, '10.20.0.50');
    expect(ipUnique.check(setIp(b, m, '10.20.0.41'))).toEqual([]);
  });

  it('reports a conflict once per pair, naming the other asset once even when desired and deployed both match', () => {
    const { b, gw, c, m } = site();
    const ctx = b.change((g) => {
      g.assets.get(c)!.config.ip = '10.20.0.60';
      g.assets.get(m)!.config.ip = '10.20.0.60';
    }, [c, m]);
    expect(ipUnique.check(ctx).map((v) => v.assetIds)).toEqual([[c, m]]);
    pending(b, m, '10.20.0.41');
    const third = b.controller(gw, null, { config: { ip: '10.20.0.42' } });
    expect(ipUnique.check(setIp(b, third, '10.20.0.41')).map((v) => v.assetIds)).toEqual([[third, m]]);
  });

  it('reports every asset holding the address', () => {
    const { b, gw, c, m } = site();
    const other = b.controller(gw, null, { config: { ip: '10.20.0.41' } });
    const v = ipUnique.check(setIp(b, c, '10.20.0.41'));
    expect(v.map((x) => x.assetIds)).toEqual([
      [c, m],
      [c, other],
    ]);
  });

  it('refuses a device on the gateway address', () => {
    const { b, gw, c } = site();
    const v = ipUnique.check(setIp(b, c, b.asset(gw).config.ip as string));
    expect(v).toEqual([expect.objectContaining({ code: 'IP_TAKEN', assetIds: [c, gw] })]);
  });

  it('ignores duplicates among assets the change does not touch', () => {
    const { b, gw, c } = site();
    b.meter(gw, null, { config: { ip: '10.20.0.70' } });
    b.meter(gw, null, { config: { ip: '10.20.0.70' } });
    expect(ipUnique.check(setIp(b, c, '10.20.0.42'))).toEqual([]);
  });
});
