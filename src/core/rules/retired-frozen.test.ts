import { describe, it, expect } from 'vitest';
import type { Asset } from '../graph/types.ts';
import { SiteBuilder } from '../testing/site-builder.ts';
import { retiredFrozen } from './retired-frozen.ts';
import type { RuleContext } from './types.ts';

const check = (ctx: RuleContext) => retiredFrozen.check(ctx);
const edit = (b: SiteBuilder, id: string, mutate: (a: Asset) => void) => b.change((g) => mutate(g.assets.get(id)!), [id]);

describe('retired-frozen', () => {
  it('passes a default site with a gateway, a controller with sensors and meters', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    b.sensor(c, 'ui-1');
    b.meter(gw, 'rs485-1', { status: 'retired' });
    expect(check(b.whole())).toEqual([]);
  });

  it('refuses a configuration change to a retired meter, pointing at the field', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1', { name: 'M-1', status: 'retired' });
    const v = check(edit(b, m, (a) => (a.config.pollIntervalMs = 60000)));
    expect(v).toEqual([
      expect.objectContaining({ code: 'RETIRED_ASSET_CHANGED', severity: 'error', assetIds: [m], path: '/pollIntervalMs' }),
    ]);
    expect(v[0].message).toContain('meter M-1 is retired');
  });

  it('refuses moving a retired meter to another bus', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1', { status: 'retired' });
    const v = check(edit(b, m, (a) => (a.port = 'rs485-2')));
    expect(v).toEqual([expect.objectContaining({ code: 'RETIRED_ASSET_CHANGED', assetIds: [m] })]);
    expect(v[0].path).toBeUndefined();
  });

  it('accepts the same configuration change on a meter in service', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    expect(check(edit(b, m, (a) => (a.config.pollIntervalMs = 60000)))).toEqual([]);
  });

  it('accepts renaming a retired meter, or a configuration that only reorders its keys', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1', { status: 'retired' });
    expect(check(edit(b, m, (a) => (a.name = 'M-old')))).toEqual([]);
    expect(check(edit(b, m, (a) => (a.config = Object.fromEntries(Object.entries(a.config).reverse()))))).toEqual([]);
  });

  it('accepts retiring a meter without changing its configuration', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1', { status: 'active' });
    expect(check(edit(b, m, (a) => (a.status = 'retired')))).toEqual([]);
  });

  it('accepts returning a retired meter to service together with its new configuration', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1', { status: 'retired' });
    const ctx = edit(b, m, (a) => {
      a.status = 'planned';
      a.port = 'rs485-2';
      a.config.unitId = 40;
    });
    expect(check(ctx)).toEqual([]);
  });

  it('refuses attaching a sensor to a retired controller', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1', { name: 'C-1', status: 'retired' });
    const live = b.controller(gw, 'rs485-1');
    const s = b.sensor(live, 'ui-1');
    const v = check(edit(b, s, (a) => (a.parentId = c)));
    expect(v).toEqual([expect.objectContaining({ code: 'PARENT_RETIRED', severity: 'error', assetIds: [s, c] })]);
    expect(v[0].message).toContain('ui-1 of controller C-1');
  });

  it('refuses a new meter on a retired gateway\'s bus', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ status: 'retired' });
    const m = b.meter(gw, 'rs485-1');
    const asset = b.asset(m);
    b.graph.assets.delete(m);
    const ctx = b.change((g) => g.assets.set(m, structuredClone(asset)), [m]);
    expect(check(ctx)).toEqual([expect.objectContaining({ code: 'PARENT_RETIRED', assetIds: [m, gw] })]);
  });

  it('accepts a change to a device that was already under a parent before it was retired', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ status: 'retired' });
    const m = b.meter(gw, 'rs485-1', { status: 'retired' });
    expect(check(edit(b, m, (a) => (a.name = 'M-spare')))).toEqual([]);
  });

  it('accepts attaching a sensor to a controller in service', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    const other = b.controller(gw, 'rs485-1');
    const s = b.sensor(other, 'ui-1');
    expect(check(edit(b, s, (a) => (a.parentId = c)))).toEqual([]);
  });

  it('ignores retired assets the change does not touch', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1', { status: 'retired' });
    b.sensor(c, 'ui-1');
    const m = b.meter(gw, 'rs485-1');
    expect(check(edit(b, m, (a) => (a.config.pollIntervalMs = 30000)))).toEqual([]);
  });
});
