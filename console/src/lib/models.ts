/** The device-model catalog, loaded once per session (it changes only with a rema release). */
import { api, call } from '../api/client.ts';
import type { Model, ModelSummary } from '../api/types.ts';
import { useApi, type ApiState } from './use-api.ts';

let catalog: Promise<Map<string, ModelSummary>> | null = null;
const full = new Map<string, Promise<Model>>();

export function loadCatalog(): Promise<Map<string, ModelSummary>> {
  catalog ??= call(api.GET('/v1/models')).then((r) => new Map(r.items.map((m) => [m.id, m])));
  catalog.catch(() => (catalog = null));
  return catalog;
}

/** One model with its configuration JSON Schema. */
export function loadModel(id: string): Promise<Model> {
  let p = full.get(id);
  if (!p) {
    p = call(api.GET('/v1/models/{id}', { params: { path: { id } } }));
    p.catch(() => full.delete(id));
    full.set(id, p);
  }
  return p;
}

export const useCatalog = (): ApiState<Map<string, ModelSummary>> => useApi(loadCatalog, []);
