import { describe, expect, it } from 'vitest';
import type { SiteGraph } from '../graph/types.ts';
import { SiteBuilder } from '../testing/site-builder.ts';
import { bacnetInstanceUnique } from './bacnet-instance-unique.ts';

const setInstance = (id: string, instance: number) => (g: SiteGraph) => {
  g.assets.get(id)!.config.bacnetInstance = instance;
};

describe('bacnet-instance-unique', () => {
  it('accepts a default site whose gateway and controllers have their own instances', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ config: { bacnetInstance: 1000 } });
    b.controller(gw, 'rs485-1', { config: { bacnetInstance: 1001 } });
    b.controller(gw, 'rs485-2', { config: { bacnetInstance: 1002 } });
    b.meter(gw, 'rs485-1');
    expect(bacnetInstanceUnique.check(b.whole())).toEqual([]);
  });

  it("refuses a controller taking its gateway's instance", () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ name: 'GW-1', config: { bacnetInstance: 1000 } });
    const c = b.controller(gw, 'rs485-1', { config: { bacnetInstance: 1001 } });
    const [v, ...rest] = bacnetInstanceUnique.check(b.change(setInstance(c, 1000), [c]));
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ rule: 'bacnet-instance-unique', code: 'BACNET_INSTANCE_TAKEN', severity: 'error', assetIds: [c, gw], path: '/bacnetInstance' });
    expect(v.message).toContain('already used by gateway GW-1');
    expect(v.message).toContain('next free: 1001');
  });

  it('accepts an instance nobody in the site uses', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ config: { bacnetInstance: 1000 } });
    const c = b.controller(gw, 'rs485-1', { config: { bacnetInstance: 1001 } });
    expect(bacnetInstanceUnique.check(b.change(setInstance(c, 1003), [c]))).toEqual([]);
  });

  it('refuses a duplicate under another gateway of the same site', () => {
    const b = new SiteBuilder();
    const gw1 = b.gateway();
    const gw2 = b.gateway();
    const c1 = b.controller(gw1, 'rs485-1', { config: { bacnetInstance: 7 } });
    const c2 = b.controller(gw2, 'rs485-1', { config: { bacnetInstance: 8 } });
    expect(bacnetInstanceUnique.check(b.change(setInstance(c2, 7), [c2]))).toMatchObject([{ code: 'BACNET_INSTANCE_TAKEN', assetIds: [c2, c1] }]);
  });

  it('reports two controllers given one instance in the same change once', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c1 = b.controller(gw, 'rs485-1', { config: { bacnetInstance: 42 } });
    const c2 = b.controller(gw, 'rs485-2', { config: { bacnetInstance: 42 } });
    expect(bacnetInstanceUnique.check(b.change(() => {}, [c1, c2]))).toMatchObject([{ code: 'BACNET_INSTANCE_TAKEN', assetIds: [c1, c2] }]);
  });

  it('accepts swapping the instances of two controllers in one change', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c1 = b.controller(gw, 'rs485-1', { config: { bacnetInstance: 11 } });
    const c2 = b.controller(gw, 'rs485-1', { config: { bacnetInstance: 12 } });
    const ctx = b.change((g) => { setInstance(c1, 12)(g); setInstance(c2, 11)(g); }, [c1, c2]);
    expect(bacnetInstanceUnique.check(ctx)).toEqual([]);
  });

  it('refuses an instance still deployed on another controller until it acknowledges its new one', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c1 = b.controller(gw, 'rs485-1', { config: { bacnetInstance: 2000 } });
    const c2 = b.controller(gw, 'rs485-1', { name: 'C-2', config: { bacnetInstance: 2001 }, deployed: true });
    b.asset(c2).config.bacnetInstance = 2009;
    b.asset(c2).configVersion = 2;
    const [v] = bacnetInstanceUnique.check(b.change(setInstance(c1, 2001), [c1]));
    expect(v).toMatchObject({ code: 'BACNET_INSTANCE_TAKEN', severity: 'error', assetIds: [c1, c2], path: '/bacnetInstance' });
    expect(v.message).toContain('still deployed on controller C-2 (version 1) until its device acknowledges the new configuration');

    b.asset(c2).deployed = { version: 2, parentId: gw, port: 'rs485-1', config: structuredClone(b.asset(c2).config) };
    expect(bacnetInstanceUnique.check(b.change(setInstance(c1, 2001), [c1]))).toEqual([]);
  });

  it('does not hold a controller to its own still-deployed instance', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1', { config: { bacnetInstance: 5 }, deployed: true });
    expect(bacnetInstanceUnique.check(b.change(setInstance(c, 6), [c]))).toEqual([]);
    expect(bacnetInstanceUnique.check(b.change((g) => { g.assets.get(c)!.config.pollIntervalMs = 20000; }, [c]))).toEqual([]);
  });

  it('ignores duplicates among assets the change did not touch', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.controller(gw, 'rs485-1', { config: { bacnetInstance: 9 } });
    b.controller(gw, 'rs485-1', { config: { bacnetInstance: 9 } });
    const ok = b.controller(gw, 'rs485-2', { config: { bacnetInstance: 10 } });
    expect(bacnetInstanceUnique.check(b.change(() => {}, [ok]))).toEqual([]);
  });
});
