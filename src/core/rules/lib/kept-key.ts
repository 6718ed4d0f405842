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
