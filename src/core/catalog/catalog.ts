import type { TSchema } from 'typebox';
import { configSchemaFor } from './config-schemas.ts';
import { controllerModels } from './models-controllers.ts';
import { gatewayModels } from './models-gateways.ts';
import { meterModels } from './models-meters.ts';
import { sensorModels } from './models-sensors.ts';
import type { DeviceModel, PortSpec } from './types.ts';

/**
 * The device-model catalog: a read-only lookup of models, their ports and their
 * configuration schemas.
 *
 * @example
 *   const catalog = builtinCatalog();
 *   catalog.port('nexa-gw-200', 'rs485-1'); // { name: 'rs485-1', type: 'rs485', capacity: 32 }
 */
export class Catalog {
  readonly models: readonly DeviceModel[];
  private readonly byId: Map<string, DeviceModel>;
  private readonly schemas = new Map<string, TSchema>();

  constructor(models: DeviceModel[]) {
    this.models = models;
    this.byId = new Map(models.map((m) => [m.id, m]));
  }

  get(modelId: string): DeviceModel | undefined {
    return this.byId.get(modelId);
  }

  port(modelId: string, portName: string | null): PortSpec | undefined {
    if (portName === null) return undefined;
    return this.byId.get(modelId)?.ports.find((p) => p.name === portName);
  }

  configSchema(modelId: string): TSchema | undefined {
    const model = this.byId.get(modelId);
    if (!model) return undefined;
    let schema = this.schemas.get(modelId);
    if (!schema) {
      schema = configSchemaFor(model);
      this.schemas.set(modelId, schema);
    }
    return schema;
  }
}

let builtin: Catalog | undefined;

/** The catalog shipped with rema. */
export function builtinCatalog(): Catalog {
  builtin ??= new Catalog([...gatewayModels, ...controllerModels, ...meterModels, ...sensorModels]);
  return builtin;
}

/** Compares dotted firmware versions numerically: `compareFirmware('2.10.0', '2.9.1') > 0`. */
export function compareFirmware(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
