import { createHash } from 'node:crypto';

/** Canonical JSON: object keys sorted at every depth, so equal documents hash equal. */
export function canonicalize(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalize(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The hash a device reports back for the configuration it runs: sha256 of the canonical JSON
 * of the configuration document, hex, prefixed with the algorithm.
 *
 * @example configHash({ unitId: 5 }) // 'sha256:…'
 */
export function configHash(config: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalize(config)).digest('hex')}`;
}
