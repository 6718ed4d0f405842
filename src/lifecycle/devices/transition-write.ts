import { checkTransition, GUARD_RULE } from '../../core/lifecycle/device-guards.ts';
import { TRANSITIONS, type DeviceState, type Transition } from '../../core/lifecycle/device-states.ts';
import { ApiError } from '../../http/errors.ts';
import type { LifecycleDeps } from '../deps.ts';
import { configWrite } from './config-calls.ts';
import { DeviceRefusal, recordApplied, type DeviceEvent, type DeviceWriteContext } from './device-audit.ts';
import { lockSiteService, lockSlot, updateDevice, type DeviceChange } from './device-store.ts';
import { deviceView, type DeviceRow } from './device-view.ts';
import { deviceWrite, lockDevice, refuseOnUnique, type DeviceAccess } from './device-write.ts';
import { hideTarget, loadTransitionFacts } from './guard-facts.ts';
import { requestingUser } from '../deployments/ack-relay.ts';

export interface TransitionRequestBody {
  transition: Transition;
  /** The asset to install at (install only). */
  assetId?: string;
  comment?: string;
}

/** Transitions after which a device is in service at its site: they take the site's service lock shared. */
const ENTER_SERVICE: readonly Transition[] = ['commission', 'activate', 'end_maintenance'];
/** Transitions whose guards count a gateway's devices in service: they take it exclusive. */
const LEAVE_SERVICE: readonly Transition[] = ['decommission', 'start_maintenance'];
/** Where the device is once it has left: decommissioned and returned devices are at no asset. */
const LEAVES_SITE: readonly DeviceState[] = ['decommissioned', 'rma'];

/**
 * The one guarded, audited write behind every lifecycle transition: lock the device row,
 * check its version (If-Match), gather the facts and run the transition's guards, refuse with
 * every violation (audited, 409) or record the install's firmware on the asset through the
 * configuration service, write the device, its audit event and its outbox event, commit.
 * With `access`, the caller must be allowed the device, and an install's target asset must be
 * on a site it may install at: one it cannot see is refused exactly like a missing asset.
 *
 * @example
 *   const device = await transitionDevice(deps, id, 3, { transition: 'install', assetId }, ctx);
 */
export async function transitionDevice(deps: LifecycleDeps, id: string, expectedVersion: number, req: TransitionRequestBody, ctx: DeviceWriteContext, access?: DeviceAccess): Promise<DeviceRow> {
  const { transition } = req;
  if (transition === 'install' && !req.assetId) {
    throw new ApiError('VALIDATION_FAILED', 'An install names the asset (slot) the device is installed at.', { extra: { errors: [{ in: 'body', path: '/assetId', message: 'is required for install' }] } });
  }
  if (transition !== 'install' && req.assetId !== undefined) {
    throw new ApiError('VALIDATION_FAILED', `assetId is given only with install; ${transition} concerns the device's own asset.`, {
      extra: { errors: [{ in: 'body', path: '/assetId', message: 'is allowed only for install' }] },
    });
  }
  return deviceWrite(deps.pool, ctx, `The ${transition.replaceAll('_', ' ')} of device ${id}`, async (client, onFailure) => {
    const device = await lockDevice(client, id, expectedVersion, access);
    if (req.assetId) await lockSlot(client, req.assetId);
    if (device.site_id && ENTER_SERVICE.includes(transition)) await lockSiteService(client, device.site_id, 'shared');
    if (device.site_id && LEAVE_SERVICE.includes(transition)) await lockSiteService(client, device.site_id, 'exclusive');

    let facts = await loadTransitionFacts(client, deps.config, device, { targetAssetId: req.assetId, transitions: [transition] });
    if (access && req.assetId && facts.asset && !(facts.siteOrgId && access.other({ orgId: facts.siteOrgId, siteId: facts.asset.siteId }))) {
      facts = hideTarget(facts);
    }
    const before = deviceView(device);
    const to = TRANSITIONS[transition].to;
    const event: DeviceEvent = {
      deviceId: id,
      orgId: device.org_id,
      siteId: device.site_id ?? facts.asset?.siteId ?? null,
      action: transition,
      before,
      after: { transition, to, ...(req.assetId ? { assetId: req.assetId } : {}) },
      comment: req.comment,
    };
    const violations = checkTransition(transition, facts);
    if (violations.length > 0) throw new DeviceRefusal(violations, event);

    const change: DeviceChange = { state: to };
    if (transition === 'install' && facts.asset) {
      const asset = facts.asset;
      // Firmware-dependent rules of the configuration service must see what the device runs.
      const outcome = await configWrite("record the device's firmware on the asset", asset.id, () => deps.config.setFirmware(asset.id, device.firmware, ctx.requestId, requestingUser(ctx.actor)));
      if (outcome.kind === 'refused') throw new DeviceRefusal(outcome.violations, event);
      if (asset.firmware !== device.firmware) onFailure(() => deps.config.setFirmware(asset.id, asset.firmware, ctx.requestId, requestingUser(ctx.actor)));
      Object.assign(change, { siteId: asset.siteId, assetId: asset.id });
    }
    if (LEAVES_SITE.includes(to)) Object.assign(change, { siteId: null, assetId: null });

    const slotTaken = { rule: GUARD_RULE, code: 'SLOT_TAKEN', message: `Asset ${req.assetId} was filled by another device meanwhile.`, assetIds: req.assetId ? [req.assetId] : [], severity: 'error' as const };
    const row = await refuseOnUnique(() => updateDevice(client, id, change), 'devices_one_per_slot', slotTaken, event);
    await recordApplied(client, [{ ...event, siteId: device.site_id ?? row.site_id, after: deviceView(row) }], ctx, 'lifecycle.device.transitioned');
    return row;
  }, () => `/v1/devices/${id}`);
}
