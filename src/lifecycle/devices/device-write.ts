import type pg from 'pg';
import { isUniqueViolation, withTransaction } from '../../db/tx.ts';
import { ApiError } from '../../http/errors.ts';
import { assertVersion } from '../../http/etag.ts';
import type { Violation } from '../../core/rules/types.ts';
import { DeviceRefusal, describeRefusal, recordRefusal, type DeviceEvent, type DeviceWriteContext } from './device-audit.ts';
import { lockDevices } from './device-store.ts';
import { deviceEtag, type DeviceRow } from './device-view.ts';

/** Registers a step that undoes a side effect outside the database, should the write fail after it. */
export type OnFailure = (undo: () => Promise<void>) => void;

/**
 * Runs one device write in a transaction. A {@link DeviceRefusal} thrown by `fn` rolls it back,
 * is recorded in the audit log (outcome `refused`) and answers 409 CONFLICT_RULES with every
 * violation. Side effects outside the database that `fn` registered with `onFailure` (the
 * firmware recorded on an asset) are undone, best effort, when the write does not commit.
 *
 * @example
 *   await deviceWrite(pool, ctx, 'The install', async (client, onFailure) => { … });
 */
export async function deviceWrite<T>(pool: pg.Pool, ctx: DeviceWriteContext, what: string, fn: (client: pg.PoolClient, onFailure: OnFailure) => Promise<T>): Promise<T> {
  const undo: Array<() => Promise<void>> = [];
  try {
    return await withTransaction(pool, (client) => fn(client, (step) => undo.push(step)));
  } catch (err) {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch {
        // Best effort: the next write to the asset records the firmware again.
      }
    }
    if (err instanceof DeviceRefusal) {
      await recordRefusal(pool, err, ctx);
      throw new ApiError('CONFLICT_RULES', describeRefusal(what, err.violations), { extra: { violations: err.violations } });
    }
    throw err;
  }
}

/** Locks one device row; 404 when it does not exist, 412 (with the current ETag) when it is not at `expectedVersion`. */
export async function lockDevice(client: pg.PoolClient, id: string, expectedVersion: number | null): Promise<DeviceRow> {
  const device = (await lockDevices(client, [id])).get(id);
  if (!device) throw new ApiError('NOT_FOUND', `Device ${id} does not exist.`);
  if (expectedVersion !== null) checkVersion(device, expectedVersion);
  return device;
}

export function checkVersion(device: DeviceRow, expected: number): void {
  const etag = deviceEtag(device);
  try {
    assertVersion(expected, device.version, etag);
  } catch (err) {
    if (err instanceof ApiError) throw new ApiError(err.code, `Device ${device.serial}: ${err.detail}`, { extra: err.extra, headers: { ETag: etag } });
    throw err;
  }
}

/**
 * Runs a statement that a unique index may refuse; a refusal by `constraint` becomes a
 * {@link DeviceRefusal} with `violation` (409 with a reason, not a bare constraint name).
 */
export async function refuseOnUnique<T>(statement: () => Promise<T>, constraint: string, violation: Violation, event: DeviceEvent): Promise<T> {
  try {
    return await statement();
  } catch (err) {
    if (isUniqueViolation(err) && err.constraint === constraint) throw new DeviceRefusal([violation], event);
    throw err;
  }
}
