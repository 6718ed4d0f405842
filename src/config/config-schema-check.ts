import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Catalog } from '../core/catalog/catalog.ts';
import type { Asset } from '../core/graph/types.ts';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

export interface ConfigError {
  /** JSON Pointer inside the configuration document. */
  path: string;
  message: string;
}

/** Checks configuration documents against their model's JSON Schema (compiled once per model). */
export class ConfigSchemaCheck {
  private readonly ajv = new Ajv({ allErrors: true, strict: false });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly catalog: Catalog) {
    addFormats(this.ajv);
  }

  check(asset: Pick<Asset, 'modelId' | 'config'>): ConfigError[] {
    let validate = this.compiled.get(asset.modelId);
    if (!validate) {
      const schema = this.catalog.configSchema(asset.modelId);
      if (!schema) return [{ path: '', message: `unknown device model "${asset.modelId}"` }];
      validate = this.ajv.compile(schema);
      this.compiled.set(asset.modelId, validate);
    }
    if (validate(asset.config)) return [];
    return (validate.errors ?? []).map((e) => {
      const extra =
        e.keyword === 'additionalProperties'
          ? `/${String((e.params as { additionalProperty: string }).additionalProperty)}`
          : e.keyword === 'required'
            ? `/${String((e.params as { missingProperty: string }).missingProperty)}`
            : '';
      const allowed = e.keyword === 'enum' || e.keyword === 'const' ? ` (${JSON.stringify(e.params)})` : '';
      const message = e.keyword === 'additionalProperties' ? `unknown field${extra.replace('/', ' "')}" for model ${asset.modelId}` : `${e.message ?? 'invalid'}${allowed}`;
      return { path: `${e.instancePath}${extra}`, message };
    });
  }
}
