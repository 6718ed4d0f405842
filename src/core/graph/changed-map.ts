/** Marks an entry of the map before that the change removed. */
const GONE: unique symbol = Symbol('gone');

/** Entries a layer may hold before a change folds them into a map of its own. */
const LAYER_LIMIT = 8;

/**
 * A map after a change — a site graph's assets, the lists of its graph index — holding the
 * entries the change replaced, added or removed in a small layer over the map before, which it
 * shares instead of copying. A change to one asset of a site of a hundred copies the layer (a few entries), and
 * the whole map only once the layer holds {@link LAYER_LIMIT} entries, instead of the site's map
 * on every write — a copy kept for as long as the site is held, which only a full collection
 * frees. The price: a replaced entry stays referenced by the shared map until the next fold.
 *
 * Reads and iterates as a `Map` copied from the one before and then changed would: replaced
 * entries in their places, added ones at the end in the order they were added. A change made
 * over another `ChangedMap` carries its layer over (copied: maps before a change are never
 * written), and once the layer holds {@link LAYER_LIMIT} entries, or an entry removed is added
 * again (it goes to the end), the change copies everything into a map of its own.
 *
 * @example
 *   const assets = new ChangedMap(before.assets);
 *   assets.set(asset.id, changed); // before.assets is left as it was
 */
export class ChangedMap<K, V> implements ReadonlyMap<K, V> {
  private base: ReadonlyMap<K, V>;
  private layer: Map<K, V | typeof GONE>;
  /** Whether `base` is this map's own (made by folding), so it is written instead of layered over. */
  private owned = false;
  private count: number;

  constructor(before: ReadonlyMap<K, V>) {
    this.count = before.size;
    this.layer = new Map();
    if (!(before instanceof ChangedMap) || before.owned) {
      // A plain map, or one a change folded and will not write again: layered over as it is.
      this.base = before instanceof ChangedMap ? before.base : before;
    } else if (before.layer.size < LAYER_LIMIT) {
      this.base = before.base;
      this.layer = new Map(before.layer);
    } else {
      this.base = before.fold();
      this.owned = true;
    }
  }

  get size(): number {
    return this.count;
  }

  get(key: K): V | undefined {
    if (this.owned) return this.base.get(key);
    const v = this.layer.get(key);
    if (v === undefined) return this.base.get(key);
    return v === GONE ? undefined : v;
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  set(key: K, value: V): this {
    const had = this.has(key);
    if (!this.owned && (this.layer.get(key) === GONE || this.layer.size >= LAYER_LIMIT)) this.makeOwn();
    if (this.owned) (this.base as Map<K, V>).set(key, value);
    // Set back to what the map before holds (a change undone): no entry of the layer needed.
    else if (this.base.get(key) === value) this.layer.delete(key);
    else this.layer.set(key, value);
    if (!had) this.count++;
    return this;
  }

  delete(key: K): boolean {
    if (!this.has(key)) return false;
    if (this.owned) (this.base as Map<K, V>).delete(key);
    else if (this.base.has(key)) this.layer.set(key, GONE);
    else this.layer.delete(key);
    this.count--;
    return true;
  }

  entries(): MapIterator<[K, V]> {
    return this.owned || this.layer.size === 0 ? this.base.entries() : this.layered();
  }

  keys(): MapIterator<K> {
    return this.owned || this.layer.size === 0 ? this.base.keys() : this.project((key) => key);
  }

  values(): MapIterator<V> {
    return this.owned || this.layer.size === 0 ? this.base.values() : this.project((_key, value) => value);
  }

  private *layered(): MapIterator<[K, V]> {
    for (const [key, value] of this.base) {
      const v = this.layer.get(key);
      if (v === undefined) yield [key, value];
      else if (v !== GONE) yield [key, v];
    }
    for (const [key, v] of this.layer) if (v !== GONE && !this.base.has(key)) yield [key, v];
  }

  private *project<T>(pick: (key: K, value: V) => T): MapIterator<T> {
    for (const [key, value] of this.layered()) yield pick(key, value);
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }

  /** The entries as a map of their own. */
  private fold(): Map<K, V> {
    return new Map(this.entries());
  }

  private makeOwn() {
    this.base = this.fold();
    this.layer = new Map();
    this.owned = true;
  }
}
