import { describe, expect, it } from 'vitest';
import { ApiError } from '../../http/errors.ts';
import { ConfigServiceError } from '../config-client.ts';
import { configRead, configWrite } from './config-calls.ts';

const violation = { rule: 'firmware-features', code: 'FEATURE_NEEDS_FIRMWARE', message: 'needs 2.1.0', assetIds: ['a1'], severity: 'error' };
const fails = (err: unknown) => async () => {
  throw err;
};

describe('configWrite', () => {
  it('passes the configuration rules’ violations through as a refusal', async () => {
    const outcome = await configWrite('record firmware', 'a1', fails(new ConfigServiceError(409, { code: 'CONFLICT_RULES', violations: [violation] })));
    expect(outcome).toEqual({ kind: 'refused', violations: [violation] });
  });

  it('turns a 409 without rule violations into one CONFIG_REFUSED violation naming the asset', async () => {
    const outcome = await configWrite('record firmware', 'a1', fails(new ConfigServiceError(409, { code: 'CONFLICT_CONSTRAINT', detail: 'raced' })));
    expect(outcome).toEqual({ kind: 'refused', violations: [expect.objectContaining({ code: 'CONFIG_REFUSED', assetIds: ['a1'] })] });
  });

  it('turns a vanished asset into ASSET_NOT_FOUND', async () => {
    const outcome = await configWrite('record firmware', 'a1', fails(new ConfigServiceError(404, {})));
    expect(outcome).toMatchObject({ kind: 'refused', violations: [{ code: 'ASSET_NOT_FOUND' }] });
  });

  it('answers 503, never 500, when the configuration service fails or cannot be reached', async () => {
    for (const err of [new ConfigServiceError(500, {}), new Error('ECONNREFUSED')]) {
      const thrown = await configWrite('record firmware', 'a1', fails(err)).catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(ApiError);
      expect((thrown as ApiError).code).toBe('SERVICE_UNAVAILABLE');
    }
  });

  it('reports done when the write went through', async () => {
    expect(await configWrite('record firmware', 'a1', async () => undefined)).toEqual({ kind: 'done' });
  });
});

describe('configRead', () => {
  it('returns what the call returns, and maps any failure to 503', async () => {
    expect(await configRead('read', async () => 42)).toBe(42);
    await expect(configRead('read the asset', fails(new ConfigServiceError(401, {})))).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });
});
