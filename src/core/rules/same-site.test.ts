import { describe, expect, it } from 'vitest';
import { SiteBuilder } from '../testing/site-builder.ts';
import { sameSite } from './same-site.ts';

const ELSEWHERE = '00000000-0000-4000-8000-000000000001';

describe('same-site', () => {
  it('accepts a default site with a gateway, devices and cables', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    const c = b.controller(gw, 'rs485-1');
    b.sensor(c, 'ui-1');
    b.cable([gw, 'rs485-1'], [m, 'com']);
    b.cable([m, 'com'], [c, 'com']);
    expect(sameSite.check(b.whole())).toEqual([]);
  });

  it('refuses a meter whose parent is not an asset of the site, naming that parent id', () => {
    const b = new SiteBuilder();
    const m = b.meter(ELSEWHERE, 'rs485-1');
    expect(sameSite.check(b.change(() => {}, [m]))).toMatchObject([
      { rule: 'same-site', code: 'PARENT_NOT_IN_SITE', severity: 'error', assetIds: [m, ELSEWHERE] },
    ]);
  });

  it('refuses a parent that belongs to another site', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    b.asset(gw).siteId = ELSEWHERE;
    const [v] = sameSite.check(b.change(() => {}, [m]));
    expect(v).toMatchObject({ code: 'PARENT_NOT_IN_SITE', assetIds: [m, gw] });
    expect(v.message).toContain('another site');
  });

  it('accepts a meter whose parent is in the site', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    expect(sameSite.check(b.change(() => {}, [m]))).toEqual([]);
  });

  it('refuses deleting a gateway that still has a meter under it', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    const ctx = b.change((g) => g.assets.delete(gw), [gw]);
    expect(sameSite.check(ctx)).toMatchObject([{ code: 'PARENT_NOT_IN_SITE', assetIds: [m, gw] }]);
  });

  it('accepts deleting a gateway together with its meter', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    const ctx = b.change((g) => { g.assets.delete(gw); g.assets.delete(m); }, [gw, m]);
    expect(sameSite.check(ctx)).toEqual([]);
  });

  it('refuses a cable to an asset outside the site, naming the present end first', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const cable = b.cable([gw, 'rs485-1'], [ELSEWHERE, 'com'], 20, 'trunk');
    const [v, ...rest] = sameSite.check(b.change(() => {}, [], [cable]));
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ code: 'CABLE_END_NOT_IN_SITE', severity: 'error', assetIds: [gw, ELSEWHERE] });
    expect(v.message).toContain('cable "trunk"');
  });

  it('accepts a cable between two assets of the site', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    const cable = b.cable([gw, 'rs485-1'], [m, 'com']);
    expect(sameSite.check(b.change(() => {}, [], [cable]))).toEqual([]);
  });

  it('refuses deleting a meter while a cable still ends on it', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    b.cable([gw, 'rs485-1'], [m, 'com']);
    const ctx = b.change((g) => g.assets.delete(m), [m]);
    expect(sameSite.check(ctx)).toMatchObject([{ code: 'CABLE_END_NOT_IN_SITE', assetIds: [gw, m] }]);
  });

  it('refuses a cable from a port back to the same port', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    const cable = b.cable([m, 'com'], [m, 'com']);
    expect(sameSite.check(b.change(() => {}, [], [cable]))).toMatchObject([{ code: 'CABLE_LOOP', severity: 'error', assetIds: [m] }]);
  });

  it('accepts a cable between two different ports of one asset', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const cable = b.cable([gw, 'rs485-1'], [gw, 'rs485-2']);
    expect(sameSite.check(b.change(() => {}, [], [cable]))).toEqual([]);
  });

  it('reports every bad reference of the change, each once', () => {
    const b = new SiteBuilder();
    const m = b.meter(ELSEWHERE, 'rs485-1');
    const loop = b.cable([m, 'com'], [m, 'com']);
    const vs = sameSite.check(b.change(() => {}, [m], [loop]));
    expect(vs.map((v) => v.code).sort()).toEqual(['CABLE_LOOP', 'PARENT_NOT_IN_SITE']);
  });

  it('ignores bad references the change did not reach', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.meter(ELSEWHERE, 'rs485-1');
    b.cable([gw, 'rs485-2'], [ELSEWHERE, 'com']);
    const ok = b.meter(gw, 'rs485-1');
    expect(sameSite.check(b.change(() => {}, [ok]))).toEqual([]);
  });
});
