import { describe, expect, it } from 'vitest';
import { createRng } from './prng.ts';

describe('createRng', () => {
  it('gives the same stream for the same keys and another for other keys', () => {
    const draw = (...keys: Array<string | number>) => {
      const rng = createRng(...keys);
      return Array.from({ length: 5 }, () => rng.next());
    };
    expect(draw(1, 'S0001')).toEqual(draw(1, 'S0001'));
    expect(draw(1, 'S0001')).not.toEqual(draw(1, 'S0002'));
    expect(draw(1, 'S0001')).not.toEqual(draw(2, 'S0001'));
  });

  it('draws integers within both bounds and uuids in RFC 4122 version-4 form', () => {
    const rng = createRng('bounds');
    const ints = Array.from({ length: 2000 }, () => rng.int(3, 6));
    expect(new Set(ints)).toEqual(new Set([3, 4, 5, 6]));
    const uuids = Array.from({ length: 1000 }, () => rng.uuid());
    for (const u of uuids) expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(uuids).size).toBe(1000);
  });

  it('picks weighted items in proportion to their weights', () => {
    const rng = createRng('weights');
    const picks = Array.from({ length: 10_000 }, () => rng.weighted([['a', 3], ['b', 1]] as const));
    const share = picks.filter((p) => p === 'a').length / picks.length;
    expect(share).toBeGreaterThan(0.72);
    expect(share).toBeLessThan(0.78);
  });
});
