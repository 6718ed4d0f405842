import type { Asset } from '../../graph/types.ts';

/**
 * For each of `keys`, the assets of `assets` whose key is the same, in the order of `assets`
 * (undefined where none is): one pass over a site for the keys a change touches, with no index
 * of the whole site built on every write. An asset whose key is undefined matches nothing.
 *
 * @example
 * const lower = (a: Asset) => a.name.toLowerCase();
 * sameKey(site.assets.values(), ['m-2', 'm-3'], lower); // [the assets named "M-2" or "m-2", those named "M-3" or "m-3"]
 */
export function sameKey<K>(assets: Iterable<Asset>, keys: readonly K[], keyOf: (asset: Asset) => K | undefined): (Asset[] | undefined)[] {
  const out: (Asset[] | undefined)[] = new Array(keys.length);
  // Where each key is in `keys` (a key may be there more than once): a map of the few touched keys, not of the site.
  const at = new Map<K, number[]>();
  keys.forEach((key, i) => {
    const list = at.get(key);
    if (list) list.push(i);
    else at.set(key, [i]);
  });
  for (const asset of assets) {
    const key = keyOf(asset);
    const places = key === undefined ? undefined : at.get(key);
    if (places === undefined) continue;
    for (const i of places) {
      const list = out[i];
      if (list) list.push(asset);
      else out[i] = [asset];
    }
  }
  return out;
}
