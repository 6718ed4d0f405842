import type { Asset } from '../../graph/types.ts';

/**
 * A key derived from one text field of an asset (a name, a serial), kept beside the asset
 * object: a site's untouched assets are the same objects from one write to the next (a change
 * copies only what it changes), so each value is normalised once, not on every write to its
 * site. The kept key is used only while the field still holds the text it was made from, so an
 * object changed in place gets a fresh key.
 *
 * @example
 * const nameKeys = keptKeys((asset) => asset.name, nameKey);
 * nameKeys(asset); // nameKey(asset.name), computed once per asset object and name
 */
export function keptKeys<V, K>(field: (asset: Asset) => V, key: (value: V) => K): (asset: Asset) => K {
  const kept = new WeakMap<Asset, { value: V; key: K }>();
  return (asset) => {
    const value = field(asset);
    const known = kept.get(asset);
    if (known !== undefined && known.value === value) return known.key;
    const made = key(value);
    kept.set(asset, { value, key: made });
    return made;
  };
}

/**
 * For each of `keys`, the assets of `assets` whose key is the same, in the order of `assets`
 * (undefined where none is): one pass over a site for the keys a change touches, with no index
 * of the whole site built on every write. An asset whose key is undefined matches nothing.
 *
 * @example
 * sameKey(site.assets.values(), [nameKey('M-2')], assetNameKey)[0]; // the assets named "m-2", the touched one too
 */
export function sameKey<K>(assets: Iterable<Asset>, keys: readonly K[], keyOf: (asset: Asset) => K | undefined): (Asset[] | undefined)[] {
  const out: (Asset[] | undefined)[] = new Array(keys.length);
  const add = (i: number, asset: Asset) => {
    const list = out[i];
    if (list) list.push(asset);
    else out[i] = [asset];
  };
  if (keys.length <= FEW_KEYS) {
    for (const asset of assets) {
      const key = keyOf(asset);
      if (key === undefined) continue;
      for (let i = 0; i < keys.length; i++) if (keys[i] === key) add(i, asset);
    }
    return out;
  }
  // Many keys (a large change set): look each asset's key up among them instead.
  const at = new Map<K, number[]>();
  keys.forEach((key, i) => {
    const list = at.get(key);
    if (list) list.push(i);
    else at.set(key, [i]);
  });
  for (const asset of assets) {
    const key = keyOf(asset);
    if (key === undefined) continue;
    for (const i of at.get(key) ?? []) add(i, asset);
  }
  return out;
}

/** Up to this many keys, each asset's key is compared with every one of them. */
const FEW_KEYS = 4;
