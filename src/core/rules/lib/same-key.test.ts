import { describe, expect, it } from 'vitest';
import type { Asset } from '../../graph/types.ts';
import { SiteBuilder } from '../../testing/site-builder.ts';
import { sameKey } from './same-key.ts';

describe('sameKey', () => {
  const b = new SiteBuilder();
  const gw = b.gateway({ name: 'GW' });
  const names = ['a', 'b', 'A', 'c', 'a', 'd', 'e', 'f'];
  const ids = names.map((name) => b.meter(gw, 'rs485-1', { name }));
  const byName = (a: Asset) => (a.kind === 'gateway' ? undefined : a.name.toLowerCase());
  const idsOf = (lists: (Asset[] | undefined)[]) => lists.map((l) => l?.map((a) => a.id));

  it('lists, for each key, the assets with that key in the order of the site', () => {
    const assets = [...b.graph.assets.values()];
    const few = sameKey(assets, ['a', 'x'], byName);
    expect(idsOf(few)).toEqual([[ids[0], ids[2], ids[4]], undefined]);
    // Repeated keys get the same list.
    const keys = ['a', 'b', 'c', 'x', 'a', 'f'];
    expect(idsOf(sameKey(assets, keys, byName))).toEqual([[ids[0], ids[2], ids[4]], [ids[1]], [ids[3]], undefined, [ids[0], ids[2], ids[4]], [ids[7]]]);
  });

  it('matches nothing to an asset without a key', () => {
    expect(sameKey([b.asset(gw)], ['gw'], byName)).toEqual([undefined]);
  });
});
