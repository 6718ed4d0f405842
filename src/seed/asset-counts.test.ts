import { describe, expect, it } from 'vitest';
import { distributeAssets } from './asset-counts.ts';
import { createRng } from './prng.ts';

describe('distributeAssets', () => {
  it('splits the total exactly, unevenly, and keeps every site within 0.4–1.8 × the mean', () => {
    const counts = distributeAssets(createRng(1), 500, 25_000);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(25_000);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(19);
    expect(Math.max(...counts)).toBeLessThanOrEqual(91);
    expect(new Set(counts).size).toBeGreaterThan(40);
  });

  it('gives every site at least one asset, and refuses fewer assets than sites', () => {
    expect(distributeAssets(createRng(2), 7, 7)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(distributeAssets(createRng(3), 0, 0)).toEqual([]);
    expect(() => distributeAssets(createRng(4), 3, 2)).toThrow(/at least its gateway/);
  });
});
