import type pg from 'pg';
import { isUniqueViolation, withTransaction } from '../../db/tx.ts';
import { ApiError } from '../../http/errors.ts';
import { markClaimCommitted } from '../../http/idempotency.ts';
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
 * firmware recorded on an asset) are undone, best effort, when the write does not commit. The
 * request's `Idempotency-Key` claim, if any, is marked committed in the same transaction, with
 * `locate(result)`: the path of the device the write made or changed.
 *
 * @example
 *   await deviceWrite(pool, ctx, 'The install', async (client, onFailure) => { … }, () => `/v1/devices/${id}`);
 */
export async function deviceWrite<T>(
  pool: pg.Pool,
  ctx: DeviceWriteContext,
  what: string,
  fn: (client: pg.PoolClient, onFailure: OnFailure) => Promise<T>,
  locate: (result: T) => string,
): Promise<T> {
  const undo: Array<() => Promise<void>> = [];
  try {
    return await withTransaction(pool, async (client) => {
      const result = await fn(client, (step) => undo.push(step));
      await markClaimCommitted(client, ctx.idempotency, locate(result));
      return result;
    });
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

/**
 * What the route allows, applied by a device write to the rows it locks (the route cannot know
 * a device's site before the lock, and a check before it could race a transition).
 */
export interface DeviceAccess {
  /** Throws unless the caller may change `device`: 404 exactly like a missing device, or 403. Called before its version is compared. */
  device(device: DeviceRow): void;
  /**
   * Whether the caller may involve something else in the change — the site of an install's
   * target asset, the replacement device: false hides it (the write treats it as missing); throws 403
   * when the caller sees it without the permission.
   */
  other(scope: { orgId: string; siteId: string | null }): boolean;
}

/** The scope a device is authorised in: its organisation, and its site while it is at one (in stock: the organisation only). */
export const deviceScope = (d: Pick<DeviceRow, 'org_id' | 'site_id'>) => ({ orgId: d.org_id, siteId: d.site_id });

/**
 * Locks one device row; 404 when it does not exist or `access` refuses it, 412 (with the
 * current ETag) when it is not at `expectedVersion`.
 */
export async function lockDevice(client: pg.PoolClient, id: string, expectedVersion: number | null, access?: DeviceAccess): Promise<DeviceRow> {
  const device = (await lockDevices(client, [id])).get(id);
  if (!device) throw new ApiError('NOT_FOUND', `Device ${id} does not exist.`);
  access?.device(device);
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
