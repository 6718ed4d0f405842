import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Catalog } from '../core/catalog/catalog.ts';
import type { Asset } from '../core/graph/types.ts';
import { lowerCaseUuidRequiredKeyword, toFieldErrors, withLowerCaseUuids } from '../http/validation.ts';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

export interface ConfigError {
  /** JSON Pointer inside the configuration document. */
  path: string;
  message: string;
}

/**
 * Checks configuration documents against their model's JSON Schema (compiled once per model). A
 * reference to another asset (a loop's `inputSensorId`) must be in lower case, as ids are: the
 * document is not changed here — the write path has already compared it with the one before.
 */
export class ConfigSchemaCheck {
  private readonly ajv = new Ajv({ allErrors: true, strict: false });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly catalog: Catalog) {
    addFormats(this.ajv);
    this.ajv.addKeyword(lowerCaseUuidRequiredKeyword);
  }

  check(asset: Pick<Asset, 'modelId' | 'config'>): ConfigError[] {
    let validate = this.compiled.get(asset.modelId);
    if (!validate) {
      const schema = this.catalog.configSchema(asset.modelId);
      if (!schema) return [{ path: '', message: `unknown device model "${asset.modelId}"` }];
      validate = this.ajv.compile(withLowerCaseUuids(schema) as object);
      this.compiled.set(asset.modelId, validate);
    }
    if (validate(asset.config)) return [];
    // One error per field: the per-branch noise of a union ("must be equal to constant" once per
    // allowed value) is folded into one message, as for request bodies.
    return toFieldErrors('body', validate.errors ?? []).map(({ path, message }) => ({
      path,
      message: message === 'is not a known property' ? `is not a field of a ${asset.modelId} configuration` : message,
    }));
  }
}
