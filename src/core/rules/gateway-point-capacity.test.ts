import { describe, it, expect } from 'vitest';
import { SiteBuilder } from '../testing/site-builder.ts';
import { gatewayPointCapacity } from './gateway-point-capacity.ts';
import type { RuleContext } from './types.ts';

const check = (ctx: RuleContext) => gatewayPointCapacity.check(ctx);
const codes = (ctx: RuleContext) => check(ctx).map((v) => v.code);

/** The context of a change that adds the asset `create` builds (absent before, present after). */
function adding(b: SiteBuilder, create: () => string): { ctx: RuleContext; id: string } {
  const id = create();
  const asset = b.asset(id);
  b.graph.assets.delete(id);
  return { id, ctx: b.change((g) => g.assets.set(id, structuredClone(asset)), [id]) };
}

/** An Orbis Edge 10 (500 points, 2 s floor) with `meters` EM-340 meters (48 points each) on its bus. */
function edgeWithMeters(meters: number) {
  const b = new SiteBuilder();
  const gw = b.gateway({ model: 'orbis-edge-10', name: 'GW-1' });
  for (let i = 0; i < meters; i++) b.meter(gw, 'rs485-1', { name: `M-${i + 1}` });
  return { b, gw };
}

describe('gateway-point-capacity', () => {
  it('passes a default site with a gateway, a controller with sensors and meters', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    b.sensor(c, 'ui-1');
    b.sensor(c, 'ui-2');
    b.meter(gw, 'rs485-1');
    b.meter(gw, 'rs485-2');
    expect(check(b.whole())).toEqual([]);
  });

  it('refuses a meter that takes the gateway past its point capacity', () => {
    const { b, gw } = edgeWithMeters(10);
    const { ctx, id } = adding(b, () => b.meter(gw, 'rs485-1', { name: 'M-11' }));
    const v = check(ctx);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ code: 'POINT_CAPACITY_EXCEEDED', severity: 'error', assetIds: [id, gw] });
    expect(v[0].message).toContain('528 points');
    expect(v[0].message).toContain('500');
  });

  it('accepts a gateway filled exactly to its point capacity, with a warning', () => {
    const { b, gw } = edgeWithMeters(10); // 480 points
    b.meter(gw, 'rs485-1', { model: 'voltis-em-110' }); // 12
    for (let i = 0; i < 3; i++) b.sensor(gw, 'rs485-1', { model: 'airq-co2-mb' }); // 2 each
    const { ctx } = adding(b, () => b.sensor(gw, 'rs485-1', { model: 'airq-co2-mb' })); // 500
    expect(codes(ctx)).toEqual(['POINT_CAPACITY_HIGH']);
  });

  it('warns when a gateway is filled above 90 % of its point capacity', () => {
    const { b, gw } = edgeWithMeters(9);
    const { ctx, id } = adding(b, () => b.meter(gw, 'rs485-1')); // 480 of 500
    const v = check(ctx);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ code: 'POINT_CAPACITY_HIGH', severity: 'warning', assetIds: [id, gw] });
    expect(v[0].message).toContain('96 %');
  });

  it('does not warn at exactly 90 % of the point capacity', () => {
    const { b, gw } = edgeWithMeters(9); // 432
    b.meter(gw, 'rs485-1', { model: 'voltis-em-110' }); // 444
    b.sensor(gw, 'rs485-1', { model: 'airq-co2-mb' }); // 446
    b.sensor(gw, 'rs485-1', { model: 'airq-co2-mb' }); // 448
    const { ctx } = adding(b, () => b.sensor(gw, 'rs485-1', { model: 'airq-co2-mb' })); // 450
    expect(check(ctx)).toEqual([]);
  });

  it('counts the sensors wired to the gateway\'s controllers', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ model: 'orbis-edge-10' });
    const controllers = Array.from({ length: 12 }, () => b.controller(gw, 'rs485-1')); // 480 points
    for (let i = 0; i < 20; i++) b.sensor(controllers[Math.floor(i / 8)], `ui-${(i % 8) + 1}`); // 500
    expect(codes(b.whole())).not.toContain('POINT_CAPACITY_EXCEEDED');
    const { ctx, id } = adding(b, () => b.sensor(controllers[3], 'ui-1'));
    expect(check(ctx)).toEqual([expect.objectContaining({ code: 'POINT_CAPACITY_EXCEEDED', assetIds: [id, gw] })]);
  });

  it('refuses moving a controller with its sensors to a gateway that cannot take their points', () => {
    const { b, gw: full } = edgeWithMeters(10); // 480 of 500
    const other = b.gateway();
    const c = b.controller(other, 'rs485-1'); // 40 points
    for (let i = 1; i <= 8; i++) b.sensor(c, `ui-${i}`); // 8 more
    const ctx = b.change((g) => {
      const asset = g.assets.get(c)!;
      asset.parentId = full;
      asset.port = 'rs485-1';
    }, [c]);
    expect(check(ctx)).toEqual([
      expect.objectContaining({ code: 'POINT_CAPACITY_EXCEEDED', severity: 'error', assetIds: [c, full] }),
    ]);
  });

  it('refuses a gateway model whose point capacity is smaller than what the gateway already polls', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ model: 'nexa-gw-400' });
    for (let i = 0; i < 11; i++) b.meter(gw, `rs485-${(i % 4) + 1}`); // 528 points
    const ctx = b.change((g) => {
      g.assets.get(gw)!.modelId = 'orbis-edge-10';
    }, [gw]);
    expect(check(ctx)).toEqual([expect.objectContaining({ code: 'POINT_CAPACITY_EXCEEDED', assetIds: [gw] })]);
  });

  it('ignores a full gateway the change does not reach', () => {
    const { b } = edgeWithMeters(11); // over capacity, untouched
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    const ctx = b.change((g) => {
      g.assets.get(m)!.config.pollIntervalMs = 20000;
    }, [m]);
    expect(check(ctx)).toEqual([]);
  });

  describe('polling budget (80 % of pointCapacity ÷ minPollIntervalMs)', () => {
    /** A Nexa GW-200 (2000 points, 1 s floor: budget 1600 points/s) with 14 PM-5560 meters of 120 points. */
    function busyGateway() {
      const b = new SiteBuilder();
      const gw = b.gateway({ name: 'GW-1' });
      const meters = Array.from({ length: 14 }, (_, i) =>
        b.meter(gw, i < 7 ? 'rs485-1' : 'rs485-2', {
          model: 'ampera-pm-5560',
          config: { pollIntervalMs: i === 13 ? 5000 : 1000 },
        }),
      );
      return { b, gw, last: meters[13] };
    }
    const pollEvery = (b: SiteBuilder, id: string, ms: number) =>
      b.change((g) => {
        g.assets.get(id)!.config.pollIntervalMs = ms;
      }, [id]);

    it('refuses a poll interval that takes the gateway past its points-per-second budget', () => {
      const { b, gw, last } = busyGateway(); // 1584 points/s
      const v = check(pollEvery(b, last, 1000)); // 1680 points/s, 1680 points (84 %)
      expect(v).toHaveLength(1);
      expect(v[0]).toMatchObject({ code: 'POLL_BUDGET_EXCEEDED', severity: 'error', assetIds: [last, gw] });
      expect(v[0].message).toContain('1680 points per second');
      expect(v[0].message).toContain('1600');
    });

    it('accepts the same gateway polled exactly at its budget', () => {
      const { b, last } = busyGateway();
      expect(check(pollEvery(b, last, 3000))).toEqual([]); // 1560 + 40 = 1600 points/s
    });

    it('reads wired sensors at their controller\'s interval and devices without one at the gateway default', () => {
      const b = new SiteBuilder();
      const gw = b.gateway({ model: 'orbis-edge-10', config: { pollIntervalMs: 2000 } }); // budget 200 points/s
      const c = b.controller(gw, 'rs485-1', { config: { pollIntervalMs: 2000 } }); // 40 points → 20/s
      for (let i = 1; i <= 8; i++) b.sensor(c, `ui-${i}`); // 8 points → 4/s
      for (let i = 0; i < 80; i++) b.sensor(gw, 'rs485-1', { model: 'airq-co2-mb', config: { pollIntervalMs: undefined } }); // 160 points → 80/s
      for (let i = 0; i < 5; i++) b.meter(gw, 'rs485-1', { config: { pollIntervalMs: 2000 } }); // 240 points → 120/s
      const ctx = b.change((g) => {
        g.assets.get(c)!.config.pollIntervalMs = 2000;
      }, [c]); // 224/s, 448 points of 500
      expect(check(ctx)).toEqual([expect.objectContaining({ code: 'POLL_BUDGET_EXCEEDED', assetIds: [c, gw] })]);
      const slower = b.change((g) => {
        g.assets.get(c)!.config.pollIntervalMs = 10000;
      }, [c]); // 4 + 0.8 + 80 + 120 = 204.8/s
      expect(codes(slower)).toEqual(['POLL_BUDGET_EXCEEDED']);
      const slowerGateway = b.change((g) => {
        g.assets.get(gw)!.config.pollIntervalMs = 10000;
      }, [gw]); // sensors at 10 s: 20 + 4 + 16 + 120 = 160/s
      expect(check(slowerGateway)).toEqual([]);
    });
  });
});
