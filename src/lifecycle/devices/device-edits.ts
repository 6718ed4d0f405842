import type { Violation } from '../../core/rules/types.ts';
import type { DeviceModel } from '../../core/catalog/types.ts';
import { SLOT_STATES } from '../../core/lifecycle/device-states.ts';
import { ApiError } from '../../http/errors.ts';
import type { LifecycleDeps } from '../deps.ts';
import { configWrite } from './config-calls.ts';
import { DeviceRefusal, recordApplied, type DeviceEvent, type DeviceWriteContext } from './device-audit.ts';
import { insertDevice, serialHolder, updateDevice, type DeviceChange } from './device-store.ts';
import { deviceView, type DeviceRow } from './device-view.ts';
import { deviceWrite, lockDevice, refuseOnUnique, type DeviceAccess } from './device-write.ts';
import { requestingUser } from '../deployments/ack-relay.ts';
import { newId } from '../../core/ids.ts';

const SERIAL_RULE = 'device-serial-unique';

/**
 * The refusal of a serial number another device holds. It names that device only to its own
 * organisation: to another, that the serial is taken is all it learns (serials are unique
 * fleet-wide, so that much cannot be kept from it).
 */
const serialTaken = (serial: string, holder: { id: string; orgId: string } | null, orgId: string): Violation => ({
  rule: SERIAL_RULE,
  code: 'SERIAL_TAKEN',
  message: `Serial number ${serial} is already registered to ${holder === null ? 'another device' : holder.orgId === orgId ? `device ${holder.id}` : 'a device of another organisation'}; serial numbers are unique fleet-wide.`,
  assetIds: [],
  path: '/serial',
  severity: 'error',
});

/** The catalog model of `modelId`; 422 on `/modelId` when the catalog has none. */
export function modelOf(deps: Pick<LifecycleDeps, 'catalog'>, modelId: string): DeviceModel {
  const model = deps.catalog.get(modelId);
  if (!model) {
    throw new ApiError('VALIDATION_FAILED', `No device model "${modelId}" in the catalog; GET /v1/models lists them.`, {
      extra: { errors: [{ in: 'body', path: '/modelId', message: `unknown device model ${modelId}` }] },
    });
  }
  return model;
}

/** 422 on `/firmware` unless `firmware` is one of the model's published versions. */
export function checkFirmware(model: DeviceModel, firmware: string): void {
  if (model.firmware.includes(firmware)) return;
  throw new ApiError('VALIDATION_FAILED', `Firmware ${firmware} is not a published release of ${model.id} (${model.firmware.join(', ')}).`, {
    extra: { errors: [{ in: 'body', path: '/firmware', message: `must be one of ${model.firmware.join(', ')}` }] },
  });
}

export interface NewDevice {
  id?: string;
  serial: string;
  modelId: string;
  firmware: string;
  orgId?: string;
}

/** Registers a device in stock: a catalog model, one of its published firmware versions, a serial no other device has. */
export async function registerDevice(deps: LifecycleDeps, body: NewDevice, ctx: DeviceWriteContext): Promise<DeviceRow> {
  const model = modelOf(deps, body.modelId);
  checkFirmware(model, body.firmware);
  const id = body.id ?? newId();
  const orgId = body.orgId ?? deps.defaultOrgId;
  const serial = body.serial.trim();
  const event: DeviceEvent = { deviceId: id, orgId, siteId: null, action: 'create', before: null, after: { ...body, serial, id, orgId } };
  return deviceWrite(deps.pool, ctx, `Registering device ${serial}`, async (client) => {
    const holder = await serialHolder(client, serial, null);
    if (holder) throw new DeviceRefusal([serialTaken(serial, holder, orgId)], event);
    const row = await refuseOnUnique(() => insertDevice(client, { id, orgId, serial, modelId: model.id, firmware: body.firmware }), 'devices_serial_unique', serialTaken(serial, null, orgId), event);
    await recordApplied(client, [{ ...event, after: deviceView(row) }], ctx, 'lifecycle.device.created');
    return row;
  }, (row) => `/v1/devices/${row.id}`);
}

export interface DevicePatchBody {
  serial?: string;
  firmware?: string;
  comment?: string;
}

/**
 * Corrects a serial or changes the firmware of a device (If-Match). The firmware of a device
 * in a slot is recorded on its asset through the configuration service, whose rules may refuse
 * it (a feature of the asset's configuration needs a later release): then the change is refused.
 */
export async function patchDevice(deps: LifecycleDeps, id: string, expectedVersion: number, patch: DevicePatchBody, ctx: DeviceWriteContext, access?: DeviceAccess): Promise<DeviceRow> {
  return deviceWrite(deps.pool, ctx, `The change of device ${id}`, async (client, onFailure) => {
    const device = await lockDevice(client, id, expectedVersion, access);
    const change: DeviceChange = {};
    if (patch.firmware !== undefined && patch.firmware !== device.firmware) {
      checkFirmware(modelOf(deps, device.model_id), patch.firmware);
      change.firmware = patch.firmware;
    }
    const serial = patch.serial?.trim();
    if (serial !== undefined && serial !== device.serial) change.serial = serial;
    if (Object.keys(change).length === 0) return device;

    const before = deviceView(device);
    const event: DeviceEvent = { deviceId: id, orgId: device.org_id, siteId: device.site_id, action: 'update', before, after: { ...before, ...change }, comment: patch.comment };
    if (change.serial !== undefined) {
      const holder = await serialHolder(client, change.serial, id);
      if (holder) throw new DeviceRefusal([serialTaken(change.serial, holder, device.org_id)], event);
    }
    const assetId = device.asset_id;
    if (change.firmware !== undefined && assetId && SLOT_STATES.includes(device.state)) {
      const outcome = await configWrite('record the new firmware on the asset', assetId, () => deps.config.setFirmware(assetId, change.firmware ?? null, ctx.requestId, requestingUser(ctx.actor)));
      if (outcome.kind === 'refused') throw new DeviceRefusal(outcome.violations, event);
      onFailure(() => deps.config.setFirmware(assetId, device.firmware, ctx.requestId, requestingUser(ctx.actor)));
    }
    const row = await refuseOnUnique(() => updateDevice(client, id, change), 'devices_serial_unique', serialTaken(change.serial ?? '', null, device.org_id), event);
    await recordApplied(client, [{ ...event, after: deviceView(row) }], ctx, 'lifecycle.device.updated');
    return row;
  }, () => `/v1/devices/${id}`);
}
