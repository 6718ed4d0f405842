/**
 * Reading, locking and writing `lifecycle.devices`, and the lifecycle facts the guards read
 * (the device in a slot, what an asset reported, deployments in flight). Only this service's
 * own schema: anything about assets comes from the configuration service's API.
 */
import type pg from 'pg';
import { scopeCondition, type Scope } from '../../auth/scopes.ts';
import { SLOT_STATES, type DeviceState } from '../../core/lifecycle/device-states.ts';
import type { DeviceRow } from './device-view.ts';
import { escapeLike } from '../../db/escape-like.ts';
import { countedReportedStates } from '../deployments/deployed-through.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

const COLUMNS = 'id, org_id, serial, model_id, firmware, state, site_id, asset_id, version, created_at, updated_at, installed_at';
const SLOT = `state = ANY('{${SLOT_STATES.join(',')}}'::text[])`;

export async function getDevice(db: Queryable, id: string): Promise<DeviceRow | undefined> {
  const { rows } = await db.query<DeviceRow>(`SELECT ${COLUMNS} FROM lifecycle.devices WHERE id = $1`, [id]);
  return rows[0];
}

/**
 * Locks device rows (`FOR UPDATE`) in id order, so two writes that lock the same pair cannot
 * deadlock; returns them by id (missing ids are absent).
 */
export async function lockDevices(client: pg.PoolClient, ids: string[]): Promise<Map<string, DeviceRow>> {
  const sorted = [...new Set(ids)].sort();
  const { rows } = await client.query<DeviceRow>(`SELECT ${COLUMNS} FROM lifecycle.devices WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [sorted]);
  return new Map(rows.map((r) => [r.id, r]));
}

/**
 * Serialises the writes that fill one asset's slot (install, replace), across instances: the
 * second waits, then sees the first's committed device. The unique index
 * `devices_one_per_slot` stays the last line behind it.
 */
export async function lockSlot(client: pg.PoolClient, assetId: string): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('lifecycle-slot:' || $1::text, 0))`, [assetId]);
}

/**
 * Site-wide lock between "a device goes into service" (shared) and "a gateway leaves
 * service" (exclusive), so a gateway's dependents check cannot race a dependent's activation.
 */
export async function lockSiteService(client: pg.PoolClient, siteId: string, mode: 'shared' | 'exclusive'): Promise<void> {
  const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  await client.query(`SELECT ${fn}(hashtextextended('lifecycle-site:' || $1::text, 0))`, [siteId]);
}

export async function insertDevice(client: pg.PoolClient, d: { id: string; orgId: string; serial: string; modelId: string; firmware: string }): Promise<DeviceRow> {
  const { rows } = await client.query<DeviceRow>(
    `INSERT INTO lifecycle.devices (id, org_id, serial, model_id, firmware, state) VALUES ($1, $2, $3, $4, $5, 'in_stock') RETURNING ${COLUMNS}`,
    [d.id, d.orgId, d.serial, d.modelId, d.firmware],
  );
  return rows[0];
}

export interface DeviceChange {
  state?: DeviceState;
  siteId?: string | null;
  assetId?: string | null;
  firmware?: string;
  serial?: string;
}

/** Writes `change` to a (locked) device and bumps its version. */
export async function updateDevice(client: pg.PoolClient, id: string, change: DeviceChange): Promise<DeviceRow> {
  const sets: string[] = [];
  const values: unknown[] = [id];
  const set = (column: string, value: unknown) => {
    values.push(value);
    sets.push(`${column} = $${values.length}`);
  };
  if (change.state !== undefined) set('state', change.state);
  if (change.siteId !== undefined) set('site_id', change.siteId);
  if (change.assetId !== undefined) set('asset_id', change.assetId);
  if (change.firmware !== undefined) set('firmware', change.firmware);
  if (change.serial !== undefined) set('serial', change.serial);
  // When the device entered its slot: commissioning needs an acknowledgement since then.
  if (change.state === 'installed') sets.push('installed_at = now()');
  else if (change.assetId === null) sets.push('installed_at = NULL');
  const { rows } = await client.query<DeviceRow>(
    `UPDATE lifecycle.devices SET ${[...sets, 'version = version + 1', 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING ${COLUMNS}`,
    values,
  );
  const row = rows[0];
  if (row && change.state === 'installed' && row.asset_id) {
    await client.query(`INSERT INTO lifecycle.tracked_slots (asset_id) VALUES ($1) ON CONFLICT (asset_id) DO NOTHING`, [row.asset_id]);
  }
  return row;
}

/** Whether a device has ever been installed at the asset. */
export async function slotTracked(db: Queryable, assetId: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM lifecycle.tracked_slots WHERE asset_id = $1`, [assetId]);
  return (rowCount ?? 0) > 0;
}

/** The device filling the asset's slot, else one reported faulty at it, if any. */
export async function deviceAt(db: Queryable, assetId: string): Promise<{ id: string; serial: string; state: DeviceState } | undefined> {
  const { rows } = await db.query<{ id: string; serial: string; state: DeviceState }>(
    `SELECT id, serial, state FROM lifecycle.devices WHERE asset_id = $1 AND (${SLOT} OR state = 'faulty') ORDER BY state = 'faulty', serial LIMIT 1`,
    [assetId],
  );
  return rows[0];
}

/** The device (other than `exceptId`) filling the asset's slot, if any. */
export async function slotHolder(db: Queryable, assetId: string, exceptId: string): Promise<{ id: string; serial: string } | null> {
  const { rows } = await db.query<{ id: string; serial: string }>(
    `SELECT id, serial FROM lifecycle.devices WHERE asset_id = $1 AND ${SLOT} AND id <> $2 LIMIT 1`,
    [assetId, exceptId],
  );
  return rows[0] ?? null;
}

/** A device whose serial equals `serial` (trimmed, case-insensitive), other than `exceptId`. */
export async function serialHolder(db: Queryable, serial: string, exceptId: string | null): Promise<{ id: string; serial: string; orgId: string } | null> {
  const { rows } = await db.query<{ id: string; serial: string; orgId: string }>(
    `SELECT id, serial, org_id AS "orgId" FROM lifecycle.devices WHERE lower(btrim(serial)) = lower(btrim($1)) AND ($2::uuid IS NULL OR id <> $2) LIMIT 1`,
    [serial, exceptId],
  );
  return rows[0] ?? null;
}

/**
 * What the asset's device last reported through the gateway the asset is deployed through, or
 * null (`deployed-through.ts`).
 */
export async function reportedState(db: Queryable, assetId: string): Promise<{ version: number; hash: string } | null> {
  const state = (await countedReportedStates(db, [assetId])).get(assetId);
  return state ? { version: state.version, hash: state.hash } : null;
}

/**
 * Whether a gateway acknowledged configuration version `version` of the asset after `since` (in
 * time or late): the device installed at `since` runs it. No `since` (a device at no asset): no.
 */
export async function ackedSince(db: Queryable, assetId: string, version: number, since: Date | null): Promise<boolean> {
  if (since === null) return false;
  const { rowCount } = await db.query(
    `SELECT 1 FROM lifecycle.deployment_targets WHERE asset_id = $1 AND config_version = $2 AND acked_at > $3 LIMIT 1`,
    [assetId, version, since],
  );
  return (rowCount ?? 0) > 0;
}

/** A running deployment that still has to deliver to the asset, or null. */
export async function runningDeployment(db: Queryable, assetId: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT d.id FROM lifecycle.deployment_targets t JOIN lifecycle.deployments d ON d.id = t.deployment_id
      WHERE t.asset_id = $1 AND t.status IN ('pending', 'sent') AND d.status = 'running' LIMIT 1`,
    [assetId],
  );
  return rows[0]?.id ?? null;
}

/** Devices filling the slots of `assetIds`. */
export async function devicesInSlots(db: Queryable, assetIds: string[]): Promise<Array<{ id: string; serial: string; state: DeviceState; asset_id: string }>> {
  if (assetIds.length === 0) return [];
  const { rows } = await db.query<{ id: string; serial: string; state: DeviceState; asset_id: string }>(
    `SELECT id, serial, state, asset_id FROM lifecycle.devices WHERE asset_id = ANY($1::uuid[]) AND ${SLOT} ORDER BY serial`,
    [assetIds],
  );
  return rows;
}

export interface DeviceFilter {
  siteId?: string;
  assetId?: string;
  state?: DeviceState;
  modelId?: string;
  serial?: string;
  /** Substring of the serial or firmware. */
  q?: string;
}


/**
 * One page of devices in id order after `afterId`, inside `scopes` (null: all; a device in stock
 * is in its organisation's scope only); fetches `limit + 1` rows for {@link toPage}.
 */
export async function listDevices(db: Queryable, filter: DeviceFilter, afterId: string | null, limit: number, scopes: readonly Scope[] | null): Promise<DeviceRow[]> {
  const params: unknown[] = [filter.siteId ?? null, filter.assetId ?? null, filter.state ?? null, filter.modelId ?? null, filter.serial ?? null, filter.q ? escapeLike(filter.q) : null, afterId, limit + 1];
  const visible = scopeCondition(scopes, { org: 'org_id', site: 'site_id' }, (v) => `$${params.push(v)}`);
  const { rows } = await db.query<DeviceRow>(
    `SELECT ${COLUMNS} FROM lifecycle.devices
      WHERE ($1::uuid IS NULL OR site_id = $1) AND ($2::uuid IS NULL OR asset_id = $2) AND ($3::text IS NULL OR state = $3)
        AND ($4::text IS NULL OR model_id = $4) AND ($5::text IS NULL OR lower(btrim(serial)) = lower(btrim($5)))
        AND ($6::text IS NULL OR serial ILIKE '%' || $6 || '%' OR firmware ILIKE '%' || $6 || '%')
        AND ($7::uuid IS NULL OR id > $7) AND ${visible}
      ORDER BY id LIMIT $8`,
    params,
  );
  return rows;
}

/** How many devices of `modelId` (or every model) inside `scopes` (null: all) run each firmware version. */
export async function firmwareCounts(db: Queryable, modelId: string | undefined, scopes: readonly Scope[] | null): Promise<Map<string, number>> {
  const params: unknown[] = [modelId ?? null];
  const visible = scopeCondition(scopes, { org: 'org_id', site: 'site_id' }, (v) => `$${params.push(v)}`);
  const { rows } = await db.query<{ model_id: string; firmware: string; n: number }>(
    `SELECT model_id, firmware, count(*)::int AS n FROM lifecycle.devices
      WHERE ($1::text IS NULL OR model_id = $1) AND state NOT IN ('decommissioned', 'rma') AND ${visible} GROUP BY model_id, firmware`,
    params,
  );
  return new Map(rows.map((r) => [`${r.model_id}@${r.firmware}`, r.n]));
}
