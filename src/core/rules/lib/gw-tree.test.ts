import { describe, expect, it } from 'vitest';
import { SiteBuilder } from '../../testing/site-builder.ts';
import { gatewayOf, pollIntervalOf } from './gw-tree.ts';

describe('gateway tree', () => {
  it('finds the gateway over an asset and the interval it is polled at', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ config: { pollIntervalMs: 5000 } });
    const ctl = b.controller(gw, 'rs485-1', { config: { pollIntervalMs: 2000 } });
    const sensor = b.sensor(ctl, 'ai-1');
    const ctx = b.change(() => {}, [sensor]);
    expect(gatewayOf(ctx.candidate, b.asset(sensor))?.id).toBe(gw);
    expect(pollIntervalOf(ctx, ctx.candidate.assets.get(sensor)!, ctx.candidate.assets.get(gw)!)).toBe(2000);
  });

  it('stops on a cycle of parents in bad data, with no gateway and the fallback interval', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ config: { pollIntervalMs: 5000 } });
    const one = b.controller(gw, 'rs485-1');
    const two = b.controller(one, 'rs485-1');
    b.asset(one).parentId = two; // one → two → one
    for (const id of [one, two]) delete b.asset(id).config.pollIntervalMs;
    const ctx = b.change(() => {}, [one]);
    expect(gatewayOf(ctx.candidate, b.asset(one))).toBeUndefined();
    expect(pollIntervalOf(ctx, ctx.candidate.assets.get(two)!, ctx.candidate.assets.get(gw)!)).toBe(5000);
  });

  it('stops on a chain that runs into a longer cycle, and still finds an interval on the cycle', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ config: { pollIntervalMs: 5000 } });
    const [a, c, d] = [b.controller(gw, 'rs485-1'), b.controller(gw, 'rs485-1'), b.controller(gw, 'rs485-1')];
    const sensor = b.sensor(a, 'ai-1');
    b.asset(a).parentId = c; // sensor → a → c → d → a
    b.asset(c).parentId = d;
    b.asset(d).parentId = a;
    for (const id of [a, c, d]) delete b.asset(id).config.pollIntervalMs;
    const ctx = b.change(() => {}, [sensor]);
    const at = (id: string) => ctx.candidate.assets.get(id)!;
    expect(gatewayOf(ctx.candidate, at(sensor))).toBeUndefined();
    expect(pollIntervalOf(ctx, at(sensor), at(gw))).toBe(5000);
    at(d).config.pollIntervalMs = 750;
    expect(pollIntervalOf(ctx, at(sensor), at(gw))).toBe(750);
  });
});
