import { describe, it, expect } from 'vitest';
import { SiteBuilder } from '../testing/site-builder.ts';
import { pollIntervalFloor } from './poll-interval-floor.ts';
import type { RuleContext } from './types.ts';

const check = (ctx: RuleContext) => pollIntervalFloor.check(ctx);

const setInterval = (b: SiteBuilder, id: string, ms: number) =>
  b.change((g) => {
    g.assets.get(id)!.config.pollIntervalMs = ms;
  }, [id]);

describe('poll-interval-floor', () => {
  it('passes a default site with a gateway, a controller with sensors and meters', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    b.sensor(c, 'ui-1');
    b.meter(gw, 'rs485-1');
    b.sensor(gw, 'rs485-2', { model: 'airq-co2-mb' });
    expect(check(b.whole())).toEqual([]);
  });

  it('refuses a meter polled faster than its gateway model supports', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ name: 'GW-1' }); // Nexa GW-200: 1000 ms floor
    const m = b.meter(gw, 'rs485-1', { name: 'M-1' });
    const v = check(setInterval(b, m, 500));
    expect(v).toEqual([
      expect.objectContaining({ code: 'POLL_INTERVAL_BELOW_FLOOR', severity: 'error', assetIds: [m, gw], path: '/pollIntervalMs' }),
    ]);
    expect(v[0].message).toContain('meter M-1 is polled every 500 ms');
    expect(v[0].message).toContain('1000 ms');
  });

  it('accepts a meter polled exactly at the floor, faster than the gateway\'s own default', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ config: { pollIntervalMs: 5000 } });
    const m = b.meter(gw, 'rs485-1');
    expect(check(setInterval(b, m, 1000))).toEqual([]);
  });

  it('refuses a gateway whose own poll interval is below its model\'s floor', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ model: 'orbis-edge-10' }); // 2000 ms floor
    expect(check(setInterval(b, gw, 1500))).toEqual([
      expect.objectContaining({ code: 'POLL_INTERVAL_BELOW_FLOOR', severity: 'error', assetIds: [gw], path: '/pollIntervalMs' }),
    ]);
  });

  it('accepts a gateway polling exactly at its model\'s floor', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ model: 'orbis-edge-10' });
    expect(check(setInterval(b, gw, 2000))).toEqual([]);
  });

  it('re-checks every polled device when the gateway changes to a slower model', () => {
    const b = new SiteBuilder();
    const gw = b.gateway(); // 1000 ms floor
    const m = b.meter(gw, 'rs485-1', { config: { pollIntervalMs: 1000 } });
    const c = b.controller(gw, 'rs485-1', { config: { pollIntervalMs: 10000 } });
    const s = b.sensor(gw, 'rs485-2', { model: 'airq-co2-mb', config: { pollIntervalMs: 1500 } });
    b.sensor(c, 'ui-1');
    const ctx = b.change((g) => {
      g.assets.get(gw)!.modelId = 'orbis-edge-10'; // 2000 ms floor
    }, [gw]);
    const v = check(ctx);
    expect(v).toHaveLength(2);
    expect(v).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'POLL_INTERVAL_BELOW_FLOOR', assetIds: [m, gw] }),
        expect.objectContaining({ code: 'POLL_INTERVAL_BELOW_FLOOR', assetIds: [s, gw] }),
      ]),
    );
  });

  it('accepts a gateway changing to a faster model under the same devices', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.meter(gw, 'rs485-1', { config: { pollIntervalMs: 1000 } });
    const ctx = b.change((g) => {
      g.assets.get(gw)!.modelId = 'nexa-gw-400';
    }, [gw]);
    expect(check(ctx)).toEqual([]);
  });

  it('refuses moving a device to a gateway with a higher floor than its poll interval', () => {
    const b = new SiteBuilder();
    const fast = b.gateway();
    const slow = b.gateway({ model: 'orbis-edge-10' });
    const m = b.meter(fast, 'rs485-1', { config: { pollIntervalMs: 1000 } });
    const ctx = b.change((g) => {
      g.assets.get(m)!.parentId = slow;
    }, [m]);
    expect(check(ctx)).toEqual([expect.objectContaining({ code: 'POLL_INTERVAL_BELOW_FLOOR', assetIds: [m, slow] })]);
  });

  it('accepts a Modbus sensor that sets no poll interval of its own', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ model: 'orbis-edge-10' });
    const s = b.sensor(gw, 'rs485-1', { model: 'airq-co2-mb', config: { pollIntervalMs: undefined } });
    expect(check(b.change(() => {}, [s]))).toEqual([]);
  });

  it('ignores devices under gateways the change does not reach', () => {
    const b = new SiteBuilder();
    const other = b.gateway();
    b.meter(other, 'rs485-1', { config: { pollIntervalMs: 200 } }); // wrong, but untouched
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    expect(check(setInterval(b, m, 2000))).toEqual([]);
  });
});
