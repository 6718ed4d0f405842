import { describe, expect, it } from 'vitest';
import { createRng } from '../../seed/prng.ts';
import { ChangedMap } from './changed-map.ts';

describe('ChangedMap', () => {
  it('reads and iterates as a copy of the map before, changed, would, over a chain of 400 random changes', () => {
    const rng = createRng('changed-map');
    let before: ReadonlyMap<string, number> = new Map(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
    let model = new Map(before);
    let next = 40;
    for (let change = 0; change < 400; change++) {
      const map = new ChangedMap(before);
      const copy = new Map(model);
      const keys = [...copy.keys()];
      for (let op = 0, ops = 1 + Math.floor(rng.next() * 4); op < ops; op++) {
        const roll = rng.next();
        const key = keys[Math.floor(rng.next() * keys.length)];
        if (roll < 0.4 && key !== undefined) {
          map.set(key, change);
          copy.set(key, change);
        } else if (roll < 0.5 && key !== undefined && before.has(key)) {
          // Set back to what the map before holds: a change undone.
          map.set(key, before.get(key) as number);
          copy.set(key, before.get(key) as number);
        } else if (roll < 0.7) {
          // A key removed earlier comes back now and then: it goes to the end, as in a Map.
          const fresh = rng.next() < 0.3 ? `k${Math.floor(rng.next() * next)}` : `k${next++}`;
          if (!copy.has(fresh)) {
            map.set(fresh, change);
            copy.set(fresh, change);
          }
        } else if (key !== undefined) {
          expect(map.delete(key)).toBe(copy.delete(key));
        }
      }
      expect([...map]).toEqual([...copy]);
      expect([...map.keys()]).toEqual([...copy.keys()]);
      expect([...map.values()]).toEqual([...copy.values()]);
      expect(map.size).toBe(copy.size);
      for (let k = 0; k < next; k++) {
        expect(map.get(`k${k}`)).toBe(copy.get(`k${k}`));
        expect(map.has(`k${k}`)).toBe(copy.has(`k${k}`));
      }
      const seen: [string, number][] = [];
      map.forEach((value, key) => seen.push([key, value]));
      expect(seen).toEqual([...copy]);
      // The map before is left as it was.
      expect([...before]).toEqual([...model]);
      before = map;
      model = copy;
    }
  });

  it('leaves the map before unwritten, also once it folds its layer into a map of its own', () => {
    const plain = new Map([['a', 1], ['b', 2]]);
    let map = new ChangedMap(plain);
    for (let i = 0; i < 40; i++) {
      map.set(`n${i}`, i);
      map = new ChangedMap(map);
    }
    expect([...plain]).toEqual([['a', 1], ['b', 2]]);
    expect(map.size).toBe(42);
    expect(map.delete('missing')).toBe(false);
  });
});
