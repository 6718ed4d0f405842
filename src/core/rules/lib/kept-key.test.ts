import { describe, expect, it } from 'vitest';
import { SiteBuilder } from '../../testing/site-builder.ts';
import { keptKeys } from './kept-key.ts';

describe('keptKeys', () => {
  it('derives a key once per asset object and value, and anew when the value changed in place', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ name: 'GW-1' });
    const asset = b.graph.assets.get(gw)!;
    const made: string[] = [];
    const keyOf = keptKeys((a) => a.name, (name) => {
      made.push(name);
      return name.toLowerCase();
    });
    expect(keyOf(asset)).toBe('gw-1');
    expect(keyOf(asset)).toBe('gw-1');
    expect(made).toEqual(['GW-1']);
    asset.name = 'GW-2';
    expect(keyOf(asset)).toBe('gw-2');
    expect(keyOf({ ...asset })).toBe('gw-2'); // another object: its own key
    expect(made).toEqual(['GW-1', 'GW-2', 'GW-2']);
  });
});
