import { describe, expect, it } from 'vitest';
import { SiteBuilder } from '../testing/site-builder.ts';
import { sensorCablePlacement } from './sensor-cable-placement.ts';

/** Two controllers; sensor T-1 placed on ui-1 of C-1 and cabled there. */
function site() {
  const b = new SiteBuilder();
  const gw = b.gateway({ name: 'GW-1' });
  const c1 = b.controller(gw, 'rs485-1', { name: 'C-1', config: { unitId: 1 } });
  const c2 = b.controller(gw, 'rs485-1', { name: 'C-2', config: { unitId: 2 } });
  const t1 = b.sensor(c1, 'ui-1', { name: 'T-1' });
  const cable = b.cable([t1, 'out'], [c1, 'ui-1'], 5, 'W-1');
  return { b, c1, c2, t1, cable };
}

const codes = (v: Array<{ code: string }>) => v.map((x) => x.code);

describe('sensor-cable-placement', () => {
  it('passes a sensor cabled to the channel it is placed on, and one with no cable', () => {
    const { b, c2 } = site();
    b.sensor(c2, 'ui-2', { name: 'T-2' });
    expect(sensorCablePlacement.check(b.whole())).toEqual([]);
  });

  it('refuses moving a sensor to another channel while its cable stays on the old one, naming both', () => {
    const { b, c1, c2, t1 } = site();
    const moved = b.change((g) => {
      const t = g.assets.get(t1)!;
      t.parentId = c2;
      t.port = 'ui-1';
    }, [t1]);
    const v = sensorCablePlacement.check(moved);
    expect(v).toEqual([expect.objectContaining({ code: 'CABLE_OFF_PLACEMENT', assetIds: [t1, c1] })]);
    expect(v[0].message).toMatch(/placed on channel ui-1 of .*C-2.*cable W-1 lands on ui-1 of .*C-1/);
  });

  it('accepts the move when the cable moves with it in the same change', () => {
    const { b, c2, t1, cable } = site();
    const ctx = b.change(
      (g) => {
        const t = g.assets.get(t1)!;
        t.parentId = c2;
        t.port = 'ui-3';
        const c = g.connections.get(cable)!;
        c.b = { assetId: c2, port: 'ui-3' };
      },
      [t1],
      [cable],
    );
    expect(sensorCablePlacement.check(ctx)).toEqual([]);
  });

  it('refuses re-landing only the cable on another channel, checked through the changed cable', () => {
    const { b, c1, t1, cable } = site();
    const ctx = b.change(
      (g) => {
        g.connections.get(cable)!.b = { assetId: c1, port: 'ui-2' };
      },
      [],
      [cable],
    );
    expect(codes(sensorCablePlacement.check(ctx))).toEqual(['CABLE_OFF_PLACEMENT']);
    expect(sensorCablePlacement.check(ctx)[0].assetIds).toEqual([t1, c1]);
  });
});
