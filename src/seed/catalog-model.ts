import { builtinCatalog } from '../core/catalog/catalog.ts';
import type { DeviceModel } from '../core/catalog/types.ts';

/** A model of the built-in catalog; a missing one is a planner bug. */
export function catalogModel(id: string): DeviceModel {
  const model = builtinCatalog().get(id);
  if (!model) throw new Error(`seed planner: unknown model ${id}`);
  return model;
}
