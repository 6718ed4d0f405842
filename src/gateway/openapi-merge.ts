/**
 * One OpenAPI document for the whole API, merged from the services' own: each service lists
 * its own routes, the gateway shows them together as clients see them through it.
 */
import type { ServiceName } from '../services.ts';
import { routeOf } from './route-table.ts';

type Json = Record<string, unknown>;

export interface ServiceDocument {
  service: ServiceName;
  document: Json;
}

/** What the merge left out: paths the route table sends elsewhere (a table out of step with a service). */
export interface MergeResult {
  document: Json;
  unrouted: Array<{ service: ServiceName; path: string }>;
}

const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});

/**
 * Merges the services' documents: every path the route table sends to the service that
 * documents it (internal routes are left out: the gateway does not route them), the union of
 * components and tags (tags in first-seen order), the first document's security. Pure.
 *
 * @example
 * const { document } = mergeOpenApi([{ service: 'config', document: cfg }, { service: 'admin', document: adm }], { title: 'rema' });
 */
export function mergeOpenApi(docs: readonly ServiceDocument[], info: { title: string; version?: string }): MergeResult {
  const paths: Json = {};
  const components: Record<string, Json> = {};
  const tags = new Map<string, unknown>();
  const unrouted: MergeResult['unrouted'] = [];
  for (const { service, document } of docs) {
    for (const [path, item] of Object.entries(obj(document.paths))) {
      const route = routeOf(openApiToPath(path));
      if (route.kind === 'internal') continue;
      if (route.kind === 'none') {
        // The services' own operational routes (/healthz, /readyz, /metrics): the gateway has its own.
        if (!(path in paths)) paths[path] = item;
        continue;
      }
      if (route.service !== service) {
        unrouted.push({ service, path });
        continue;
      }
      paths[path] = { ...obj(paths[path]), ...obj(item) };
    }
    for (const [kind, entries] of Object.entries(obj(document.components))) {
      components[kind] = { ...obj(entries), ...components[kind] };
    }
    for (const tag of Array.isArray(document.tags) ? document.tags : []) {
      const name = obj(tag).name;
      if (typeof name === 'string' && !tags.has(name)) tags.set(name, tag);
    }
  }
  const first = docs[0]?.document ?? {};
  const description = typeof obj(first.info).description === 'string' ? obj(first.info).description : undefined;
  return {
    document: {
      openapi: first.openapi ?? '3.1.0',
      info: { title: info.title, version: info.version ?? String(obj(first.info).version ?? '0.1.0'), ...(description ? { description } : {}) },
      components,
      security: first.security ?? [],
      tags: [...tags.values()],
      paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    },
    unrouted,
  };
}

/** `/v1/sites/{id}/drift` → `/v1/sites/id/drift`: an OpenAPI path as a concrete path for routing. */
function openApiToPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, '$1');
}
