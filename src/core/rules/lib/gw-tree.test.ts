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
});
