import type pg from 'pg';
import type { AuditActor } from '../../audit/types.ts';
import { SLOT_STATES } from '../../core/lifecycle/device-states.ts';
import { recordApplied, type DeviceWriteContext } from './device-audit.ts';
import { lockDevices, lockSlot, updateDevice } from './device-store.ts';
import { deviceView, type DeviceRow } from './device-view.ts';

/** The audit actor of what this service does on its own, in reaction to another service's event. */
export const LIFECYCLE_SYSTEM_ACTOR: AuditActor = { type: 'system', id: 'lifecycle', name: 'lifecycle service' };

/** An asset that left service in the configuration service: retired, or deleted. */
export interface AssetGone {
  assetId: string;
  assetName: string | null;
  how: 'retired' | 'deleted';
  /** Who retired or deleted it, as the configuration service audited them. */
  by: AuditActor | null;
  changesetId: string | null;
  /** Request id of the configuration change, so the audit events of both services link. */
  requestId: string | null;
  /** The event that told us, e.g. `config.asset.updated #42`. */
  source: string;
}

/**
 * Unbinds the device that fills the slot of an asset that is gone: the device is
 * `decommissioned` (at no asset, no site), like a decommission transition, but without the
 * transition's guards — the asset's retirement is a fact, already committed, and refusing to
 * follow it would leave a device bound to a slot that no longer takes one. Audited with the
 * system as actor (`lifecycle`), the configuration change's request id, and a comment naming
 * the asset, the change and who made it.
 *
 * Idempotent: with no device in the slot (already unbound, or there never was one) it does
 * nothing. It takes the slot's lock first, so an install racing the retirement either commits
 * before (and is unbound here) or runs after and sees the asset retired (ASSET_RETIRED).
 *
 * @returns the device as it is now, or undefined when the slot was empty.
 */
export async function unbindDevice(client: pg.PoolClient, gone: AssetGone): Promise<DeviceRow | undefined> {
  await lockSlot(client, gone.assetId);
  const { rows } = await client.query<{ id: string }>(
    `SELECT id FROM lifecycle.devices WHERE asset_id = $1 AND state = ANY($2::text[])`,
    [gone.assetId, SLOT_STATES],
  );
  if (rows.length === 0) return undefined;
  const device = (await lockDevices(client, [rows[0].id])).get(rows[0].id);
  if (!device || device.asset_id !== gone.assetId || !SLOT_STATES.includes(device.state)) return undefined;

  const after = await updateDevice(client, device.id, { state: 'decommissioned', siteId: null, assetId: null });
  const name = gone.assetName ? `${gone.assetName} (${gone.assetId})` : gone.assetId;
  const who = gone.by ? ` by ${gone.by.name}${gone.by.onBehalfOf ? ` for ${gone.by.onBehalfOf.name}` : ''}` : '';
  const change = gone.changesetId ? `, change set ${gone.changesetId}` : '';
  const ctx: DeviceWriteContext = { actor: LIFECYCLE_SYSTEM_ACTOR, requestId: gone.requestId ?? `event:${gone.source}` };
  await recordApplied(
    client,
    [
      {
        deviceId: device.id,
        orgId: device.org_id,
        siteId: device.site_id,
        action: 'decommission',
        before: deviceView(device),
        after: deviceView(after),
        comment: `Asset ${name} was ${gone.how}${who} (${gone.source}${change}); its device left the slot.`,
      },
    ],
    ctx,
    'lifecycle.device.transitioned',
  );
  return after;
}
