import { describe, it, expect } from 'vitest';
import { SiteBuilder } from '../testing/site-builder.ts';
import { deleteGuard } from './delete-guard.ts';
import type { RuleContext } from './types.ts';

const check = (ctx: RuleContext) => deleteGuard.check(ctx);

/** The context of a change set that deletes `assets` and `cables`. */
const deleting = (b: SiteBuilder, assets: string[], cables: string[] = []) =>
  b.change(
    (g) => {
      for (const id of assets) g.assets.delete(id);
      for (const id of cables) g.connections.delete(id);
    },
    assets,
    cables,
  );

describe('delete-guard', () => {
  it('passes a default site with a gateway, a controller with sensors and meters', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    b.sensor(c, 'ui-1');
    b.meter(gw, 'rs485-1');
    expect(check(b.whole())).toEqual([]);
  });

  it('refuses deleting a controller that still has sensors, naming it and then them', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1', { name: 'C-1' });
    const s1 = b.sensor(c, 'ui-1', { name: 'T-1' });
    const s2 = b.sensor(c, 'ui-2', { name: 'T-2' });
    const v = check(deleting(b, [c]));
    expect(v).toEqual([expect.objectContaining({ code: 'ASSET_HAS_CHILDREN', severity: 'error', assetIds: [c, s1, s2] })]);
    expect(v[0].message).toContain('controller C-1 cannot be deleted: sensor T-1 and sensor T-2 still hang under it');
  });

  it('accepts deleting a controller together with its sensors', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    const s1 = b.sensor(c, 'ui-1');
    const s2 = b.sensor(c, 'ui-2');
    expect(check(deleting(b, [c, s1, s2]))).toEqual([]);
  });

  it('accepts deleting a controller whose sensors the same change set moves elsewhere', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    const keep = b.controller(gw, 'rs485-1');
    const s = b.sensor(c, 'ui-1');
    const ctx = b.change((g) => {
      g.assets.delete(c);
      g.assets.get(s)!.parentId = keep;
    }, [c, s]);
    expect(check(ctx)).toEqual([]);
  });

  it('refuses deleting a meter that a cable still ends on', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ name: 'GW-1' });
    const m = b.meter(gw, 'rs485-1', { name: 'M-1' });
    b.cable([gw, 'rs485-1'], [m, 'com'], 25, 'K-1');
    const v = check(deleting(b, [m]));
    expect(v).toEqual([expect.objectContaining({ code: 'ASSET_HAS_CABLES', severity: 'error', assetIds: [m, gw] })]);
    expect(v[0].message).toContain('cable "K-1" to rs485-1 of gateway GW-1');
  });

  it('accepts deleting a meter together with its cable', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    const k = b.cable([gw, 'rs485-1'], [m, 'com']);
    expect(check(deleting(b, [m], [k]))).toEqual([]);
  });

  it('refuses deleting a meter whose device still runs a deployed configuration', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1', { name: 'M-1', deployed: true });
    const v = check(deleting(b, [m]));
    expect(v).toEqual([expect.objectContaining({ code: 'ASSET_DEPLOYED', severity: 'error', assetIds: [m] })]);
    expect(v[0].message).toContain('version 1');
  });

  it('accepts deleting a meter that was never deployed', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1', { deployed: false });
    expect(check(deleting(b, [m]))).toEqual([]);
  });

  it('accepts deleting a gateway with everything under it and its cables in one change set', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    const s = b.sensor(c, 'ui-1');
    const m = b.meter(gw, 'rs485-2');
    const mb = b.sensor(gw, 'rs485-2', { model: 'airq-co2-mb' });
    const k1 = b.cable([gw, 'rs485-1'], [c, 'com']);
    const k2 = b.cable([gw, 'rs485-2'], [m, 'com']);
    const k3 = b.cable([m, 'com'], [mb, 'com']);
    expect(check(deleting(b, [gw, c, s, m, mb], [k1, k2, k3]))).toEqual([]);
  });

  it('refuses that same delete when a device under the gateway is still deployed, or a child or cable is left behind', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    const s = b.sensor(c, 'ui-1');
    const m = b.meter(gw, 'rs485-2', { deployed: true });
    const left = b.meter(gw, 'rs485-2');
    const k = b.cable([gw, 'rs485-1'], [c, 'com']);
    b.cable([gw, 'rs485-2'], [m, 'com']); // left in place
    const v = check(deleting(b, [gw, c, s, m], [k]));
    expect(v).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'ASSET_HAS_CHILDREN', assetIds: [gw, left] }),
        expect.objectContaining({ code: 'ASSET_HAS_CABLES', assetIds: [gw, m] }),
        expect.objectContaining({ code: 'ASSET_DEPLOYED', assetIds: [m] }),
      ]),
    );
    expect(v).toHaveLength(3); // the cable between two deleted assets is reported once
  });

  it('looks only at the assets the change set deletes', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ deployed: true });
    const c = b.controller(gw, 'rs485-1');
    b.sensor(c, 'ui-1');
    const m = b.meter(gw, 'rs485-2');
    expect(check(deleting(b, [m]))).toEqual([]);
  });
});
