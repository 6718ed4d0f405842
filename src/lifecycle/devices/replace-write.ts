import { checkReplacement, GUARD_RULE } from '../../core/lifecycle/device-guards.ts';
import { ApiError, isApiError } from '../../http/errors.ts';
import type { LifecycleDeps } from '../deps.ts';
import { configRead, configWrite } from './config-calls.ts';
import { DeviceRefusal, recordApplied, type DeviceEvent, type DeviceWriteContext } from './device-audit.ts';
import { lockDevices, lockSlot, slotHolder, updateDevice } from './device-store.ts';
import { deviceView, guardDevice, type DeviceRow } from './device-view.ts';
import { checkVersion, deviceScope, deviceWrite, refuseOnUnique, type DeviceAccess } from './device-write.ts';
import { guardAsset } from './guard-facts.ts';
import { requestingUser } from '../deployments/ack-relay.ts';
import { newId } from '../../core/ids.ts';

export interface Replacement {
  old: DeviceRow;
  new: DeviceRow;
  assetId: string;
  deploymentId: string | null;
  /** Why the deployment to the new device did not start (the swap itself is committed). */
  deploymentError?: { code: string; detail: string };
}

/**
 * Swaps a device for another of the same model (an RMA swap) in one audited transaction: both
 * rows locked in id order, the new device (in stock) takes the old one's slot as `installed`,
 * the old one goes to `rma` (it left the site for the vendor), its firmware is recorded on the
 * asset. After the commit the asset's configuration is deployed to the new device. With
 * `access`, the caller must be allowed the old device, and a replacement it may not see is
 * refused exactly like one that does not exist.
 *
 * @example
 *   const { deploymentId } = await replaceDevice(deps, oldId, 4, { newDeviceId }, ctx);
 */
export async function replaceDevice(
  deps: LifecycleDeps,
  oldId: string,
  expectedVersion: number,
  req: { newDeviceId: string; comment?: string },
  ctx: DeviceWriteContext,
  access?: DeviceAccess,
): Promise<Replacement> {
  if (req.newDeviceId === oldId) {
    throw new ApiError('VALIDATION_FAILED', 'A device cannot replace itself.', { extra: { errors: [{ in: 'body', path: '/newDeviceId', message: 'must name another device' }] } });
  }
  const changesetId = newId();
  const swapped = await deviceWrite(deps.pool, ctx, `The replacement of device ${oldId}`, async (client, onFailure) => {
    const locked = await lockDevices(client, [oldId, req.newDeviceId]);
    const old = locked.get(oldId);
    const candidate = locked.get(req.newDeviceId);
    if (!old) throw new ApiError('NOT_FOUND', `Device ${oldId} does not exist.`);
    access?.device(old);
    checkVersion(old, expectedVersion);
    const fresh = candidate && (!access || access.other(deviceScope(candidate))) ? candidate : undefined;
    if (!fresh) {
      throw new ApiError('VALIDATION_FAILED', `Device ${req.newDeviceId} does not exist; register it first.`, { extra: { errors: [{ in: 'body', path: '/newDeviceId', message: 'no such device' }] } });
    }
    const assetId = old.asset_id;
    if (assetId) await lockSlot(client, assetId);
    const found = assetId ? await configRead('read the asset', () => deps.config.getAsset(assetId)) : undefined;
    const asset = found ? guardAsset(found.asset) : null;
    const site = asset ? await configRead("read the asset's site", () => deps.config.getSite(asset.siteId)) : undefined;
    const event: DeviceEvent = {
      deviceId: old.id,
      orgId: old.org_id,
      siteId: old.site_id,
      action: 'replace',
      before: deviceView(old),
      after: { replacedBy: fresh.id, assetId },
      comment: req.comment,
      changesetId,
    };
    const violations = checkReplacement({
      old: guardDevice(old),
      replacement: guardDevice(fresh),
      asset,
      siteOrgId: site?.orgId ?? null,
      slotHolder: assetId ? await slotHolder(client, assetId, old.id) : null,
    });
    if (violations.length > 0 || !asset || !assetId) throw new DeviceRefusal(violations, event);

    const outcome = await configWrite("record the new device's firmware on the asset", asset.id, () => deps.config.setFirmware(asset.id, fresh.firmware, ctx.requestId, requestingUser(ctx.actor)));
    if (outcome.kind === 'refused') throw new DeviceRefusal(outcome.violations, event);
    if (asset.firmware !== fresh.firmware) onFailure(() => deps.config.setFirmware(asset.id, asset.firmware, ctx.requestId, requestingUser(ctx.actor)));

    // The old device leaves the slot first, so the one-device-per-slot index sees one holder at a time.
    const oldAfter = await updateDevice(client, old.id, { state: 'rma', siteId: null, assetId: null });
    const slotTaken = { rule: GUARD_RULE, code: 'SLOT_TAKEN', message: `Asset ${asset.name} was filled by another device meanwhile.`, assetIds: [asset.id], severity: 'error' as const };
    const newAfter = await refuseOnUnique(() => updateDevice(client, fresh.id, { state: 'installed', siteId: asset.siteId, assetId: asset.id }), 'devices_one_per_slot', slotTaken, event);
    await recordApplied(
      client,
      [
        { ...event, after: deviceView(oldAfter) },
        { deviceId: fresh.id, orgId: fresh.org_id, siteId: asset.siteId, action: 'replace', before: deviceView(fresh), after: deviceView(newAfter), comment: req.comment, changesetId },
      ],
      ctx,
      'lifecycle.device.replaced',
    );
    return { old: oldAfter, new: newAfter, assetId: asset.id, siteId: asset.siteId };
  }, () => `/v1/devices/${oldId}`);

  const result: Replacement = { old: swapped.old, new: swapped.new, assetId: swapped.assetId, deploymentId: null };
  try {
    const deployment = await deps.deploy(
      { siteId: swapped.siteId, assetIds: [swapped.assetId], comment: req.comment ?? `configuration for replacement device ${swapped.new.serial}` },
      // Without the request's Idempotency-Key claim: the swap's transaction marked it already.
      { actor: ctx.actor, requestId: ctx.requestId },
    );
    result.deploymentId = deployment.id;
  } catch (err) {
    // The swap is committed; a deployment that cannot start now can be started again later.
    result.deploymentError = isApiError(err) ? { code: err.code, detail: err.detail } : { code: 'DEPLOYMENT_NOT_STARTED', detail: err instanceof Error ? err.message : String(err) };
  }
  return result;
}
