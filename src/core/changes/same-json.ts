/**
 * Whether two JSON values are the same value as stored in jsonb: object members in any order,
 * numbers by value (`-0` is `0`, as JSON writes it), arrays in order. For values parsed from
 * JSON (request bodies, rows): no `undefined`, no other prototypes.
 *
 * @example
 * sameJson({ a: 1, b: [0] }, { b: [-0], a: 1 }) // true
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  if (keys.length !== Object.keys(y).length) return false;
  for (const key of keys) if (!Object.hasOwn(y, key) || !sameJson(x[key], y[key])) return false;
  return true;
}
