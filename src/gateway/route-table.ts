/**
 * Which service answers a public path: a small, explicit table. An entry holds for its path
 * and everything below it (`:param` matches one segment); the longest matching entry wins and
 * the rest of `/v1` belongs to the configuration service. `/v1/internal/*` (event feeds, the
 * deployed-version writes) and `/v1/auth/service-token` are for services talking to each other
 * directly, never routed; nor is a path with a `.` or `..` segment.
 */
import type { ServiceName } from '../services.ts';

export interface RouteEntry {
  path: string;
  service: ServiceName;
}

export const ROUTE_TABLE: readonly RouteEntry[] = [
  { path: '/v1/deployments', service: 'lifecycle' },
  { path: '/v1/devices', service: 'lifecycle' },
  { path: '/v1/firmware', service: 'lifecycle' },
  { path: '/v1/sites/:id/drift', service: 'lifecycle' },
  { path: '/v1/assets/:id/deployment-state', service: 'lifecycle' },
  { path: '/v1/auth', service: 'admin' },
  { path: '/v1/orgs', service: 'admin' },
  { path: '/v1/users', service: 'admin' },
  { path: '/v1/tokens', service: 'admin' },
  { path: '/v1/audit', service: 'admin' },
  // An asset's audit trail: the audit query API lives with the admin service.
  { path: '/v1/assets/:id/history', service: 'admin' },
  { path: '/.well-known', service: 'admin' },
  { path: '/v1', service: 'config' },
];

/** Where a path goes: a service, `internal` (refused), or `none` (not an API path: the gateway's own). */
export type RouteDecision = { kind: 'service'; service: ServiceName } | { kind: 'internal' } | { kind: 'none' };

const split = (path: string) => path.split('/').filter((s) => s !== '');
const TABLE = ROUTE_TABLE.map((e) => ({ ...e, segments: split(e.path) }));

/**
 * Routes a request path (without its query string). Segments are compared percent-decoded, so
 * `/v1/%69nternal/…` is as internal as `/v1/internal/…`; an undecodable path routes nowhere.
 *
 * @example
 * routeOf('/v1/sites/4f1c/drift'); // { kind: 'service', service: 'lifecycle' }
 * routeOf('/v1/sites/4f1c');       // { kind: 'service', service: 'config' }
 */
export function routeOf(path: string): RouteDecision {
  let segments: string[];
  try {
    segments = split(path).map((s) => decodeURIComponent(s));
  } catch {
    return { kind: 'none' };
  }
  // `.` and `..` would be resolved on the way to the service (`/v1/./internal/…` is `/v1/internal/…`
  // there): such a path is not routed at all.
  if (segments.some((s) => s === '.' || s === '..')) return { kind: 'none' };
  if (segments[0] === 'v1' && segments[1] === 'internal') return { kind: 'internal' };
  // A service's own token is asked for by the service from the admin directly, never through the
  // public entry point, where anyone could use up the admin's per-address budget for it.
  if (segments[0] === 'v1' && segments[1] === 'auth' && segments[2] === 'service-token') return { kind: 'internal' };
  let best: (typeof TABLE)[number] | undefined;
  for (const entry of TABLE) {
    if (entry.segments.length > segments.length) continue;
    if (!entry.segments.every((s, i) => s.startsWith(':') || s === segments[i])) continue;
    if (!best || entry.segments.length > best.segments.length) best = entry;
  }
  return best ? { kind: 'service', service: best.service } : { kind: 'none' };
}
