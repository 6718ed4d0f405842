import { describe, expect, it } from 'vitest';
import { draw } from './draw.ts';

describe('draw', () => {
  it('gives the same number for the same seed and parts, another for another seed', () => {
    expect(draw(1, 'd', 'a')).toBe(draw(1, 'd', 'a'));
    expect(draw(1, 'd', 'a')).not.toBe(draw(2, 'd', 'a'));
    expect(draw(1, 'd', 'a')).not.toBe(draw(1, 'd', 'b'));
  });

  it('spreads evenly enough over [0, 1) for a failure rate to mean what it says', () => {
    const n = 4000;
    const values = Array.from({ length: n }, (_, i) => draw(7, `asset-${i}`));
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    const below = values.filter((v) => v < 0.25).length / n;
    expect(below).toBeGreaterThan(0.22);
    expect(below).toBeLessThan(0.28);
  });
});
