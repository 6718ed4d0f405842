import { describe, expect, it } from 'vitest';
import type { ConfigDoc } from '../graph/types.ts';
import { SiteBuilder } from '../testing/site-builder.ts';
import { busCableLength } from './bus-cable-length.ts';

/** A gateway with three meters daisy-chained on rs485-1: gw → m1 → m2, and m3 not yet wired. */
function chain(first: number, second: number) {
  const b = new SiteBuilder();
  const gw = b.gateway({ name: 'GW-1' });
  const [m1, m2, m3] = [1, 2, 3].map(() => b.meter(gw, 'rs485-1'));
  b.cable([gw, 'rs485-1'], [m1, 'com'], first);
  b.cable([m1, 'com'], [m2, 'com'], second);
  return { b, gw, m1, m2, m3 };
}

describe('bus-cable-length', () => {
  it('accepts a default site with short cables on both buses', () => {
    const { b, gw, m2, m3 } = chain(10, 10);
    b.cable([m2, 'com'], [m3, 'com'], 10);
    const m4 = b.meter(gw, 'rs485-2');
    b.cable([gw, 'rs485-2'], [m4, 'com'], 25);
    expect(busCableLength.check(b.whole())).toEqual([]);
  });

  it('refuses a cable that takes the segment past 1,200 m at 19200 baud, naming its ends first', () => {
    const { b, gw, m1, m2, m3 } = chain(600, 500);
    const cable = b.cable([m2, 'com'], [m3, 'com'], 200);
    const [v, ...rest] = busCableLength.check(b.change(() => {}, [], [cable]));
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ rule: 'bus-cable-length', code: 'SEGMENT_TOO_LONG', severity: 'error', assetIds: [m2, m3, gw, m1] });
    expect(v.message).toContain('1,300 m of cable in 3 cables, over its 1,200 m limit at 19200 baud');
  });

  it('accepts the same segment with a cable short enough to stay below 90 % of the limit', () => {
    const { b, m2, m3 } = chain(600, 400);
    const cable = b.cable([m2, 'com'], [m3, 'com'], 80);
    expect(busCableLength.check(b.change(() => {}, [], [cable]))).toEqual([]);
  });

  it('warns about a segment above 90 % of its limit', () => {
    const { b, gw, m1, m2, m3 } = chain(600, 500);
    const cable = b.cable([m2, 'com'], [m3, 'com'], 50);
    const [v, ...rest] = busCableLength.check(b.change(() => {}, [], [cable]));
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ code: 'SEGMENT_NEAR_LIMIT', severity: 'warning', assetIds: [m2, m3, gw, m1] });
    expect(v.message).toContain('96 % of its 1,200 m limit');
  });

  it('accepts a segment of exactly 1,200 m with only a warning', () => {
    const { b, m2, m3 } = chain(600, 500);
    const cable = b.cable([m2, 'com'], [m3, 'com'], 100);
    expect(busCableLength.check(b.change(() => {}, [], [cable])).map((v) => v.severity)).toEqual(['warning']);
  });

  it('refuses raising the bus to 115200 baud when that shortens the limit below the cable already laid', () => {
    const { b, gw, m1, m2 } = chain(600, 450);
    const ctx = b.change((g) => {
      (g.assets.get(gw)!.config.buses as Record<string, ConfigDoc>)['rs485-1'].baud = 115200;
    }, [gw]);
    const [v] = busCableLength.check(ctx);
    expect(v).toMatchObject({ code: 'SEGMENT_TOO_LONG', severity: 'error', assetIds: [gw, m1, m2] });
    expect(v.message).toContain('over its 1,041 m limit at 115200 baud');
  });

  it('accepts the same cable at 57600 baud, where the full 1,200 m still applies', () => {
    const { b, gw } = chain(600, 450);
    const ctx = b.change((g) => {
      (g.assets.get(gw)!.config.buses as Record<string, ConfigDoc>)['rs485-1'].baud = 57600;
    }, [gw]);
    expect(busCableLength.check(ctx)).toEqual([]);
  });

  it('checks the segment of a touched device on the bus', () => {
    const { b, m2, m3 } = chain(700, 500);
    b.cable([m2, 'com'], [m3, 'com'], 100);
    expect(busCableLength.check(b.change(() => {}, [m3])).map((v) => v.code)).toEqual(['SEGMENT_TOO_LONG']);
  });

  it('does not count cables of the other bus', () => {
    const { b, gw, m2, m3 } = chain(500, 400);
    const m4 = b.meter(gw, 'rs485-2');
    b.cable([gw, 'rs485-2'], [m4, 'com'], 900);
    const cable = b.cable([m2, 'com'], [m3, 'com'], 50);
    expect(busCableLength.check(b.change(() => {}, [], [cable]))).toEqual([]);
  });

  it('ignores an over-long segment the change did not reach', () => {
    const { b, gw } = chain(10, 10);
    const m4 = b.meter(gw, 'rs485-2');
    b.cable([gw, 'rs485-2'], [m4, 'com'], 1500);
    const m1 = [...b.graph.assets.values()].find((a) => a.port === 'rs485-1')!;
    expect(busCableLength.check(b.change(() => {}, [m1.id]))).toEqual([]);
  });
});
