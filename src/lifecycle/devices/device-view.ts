import { Type, type Static } from 'typebox';
import { DEVICE_STATES, TRANSITIONS, type DeviceState, type Transition } from '../../core/lifecycle/device-states.ts';
import { etagOf } from '../../http/etag.ts';

/** Request and response schemas of the device API: validation, types and OpenAPI at once. */
export const Uuid = Type.String({ format: 'uuid' });
export const Serial = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]*$', description: 'Serial number, unique fleet-wide (case-insensitive)' });
export const FirmwareVersion = Type.String({ pattern: '^\\d{1,4}\\.\\d{1,4}\\.\\d{1,4}$', description: "One of the model's published firmware versions (GET /v1/firmware)" });
export const ModelId = Type.String({ minLength: 1, maxLength: 64, description: 'Device model of the catalog (GET /v1/models)' });
export const StateSchema = Type.Unsafe<DeviceState>({ type: 'string', enum: [...DEVICE_STATES] });
export const TransitionSchema = Type.Unsafe<Transition>({ type: 'string', enum: Object.keys(TRANSITIONS) });
const Comment = Type.String({ maxLength: 2000 });

export const DeviceView = Type.Object({
  id: Uuid,
  orgId: Uuid,
  serial: Type.String(),
  modelId: Type.String(),
  firmware: Type.String(),
  state: StateSchema,
  siteId: Type.Union([Uuid, Type.Null()], { description: 'Site of the asset the device is at; null in stock, decommissioned or returned' }),
  assetId: Type.Union([Uuid, Type.Null()], { description: 'Asset (slot) the device fills, or a faulty device was last at' }),
  version: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type DeviceViewData = Static<typeof DeviceView>;

export const DeviceCreate = Type.Object(
  {
    id: Type.Optional(Uuid),
    serial: Serial,
    modelId: ModelId,
    firmware: FirmwareVersion,
    orgId: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);

export const DevicePatch = Type.Object(
  {
    serial: Type.Optional(Serial),
    firmware: Type.Optional(FirmwareVersion),
    comment: Type.Optional(Comment),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const TransitionRequest = Type.Object(
  {
    transition: TransitionSchema,
    assetId: Type.Optional(Uuid),
    comment: Type.Optional(Comment),
  },
  { additionalProperties: false },
);

export const ReplaceRequest = Type.Object({ newDeviceId: Uuid, comment: Type.Optional(Comment) }, { additionalProperties: false });

const ViolationView = Type.Object({
  rule: Type.String(),
  code: Type.String(),
  message: Type.String(),
  assetIds: Type.Array(Type.String()),
  path: Type.Optional(Type.String()),
  severity: Type.Unsafe<'error' | 'warning'>({ type: 'string', enum: ['error', 'warning'] }),
});

export const TransitionVerdictView = Type.Object({
  transition: TransitionSchema,
  from: Type.Array(StateSchema),
  to: StateSchema,
  allowed: Type.Boolean(),
  violations: Type.Array(ViolationView),
  requires: Type.Array(Type.String(), { description: 'Request fields the transition needs that the query did not give (install: assetId)' }),
});

export const ReplaceResult = Type.Object({
  old: DeviceView,
  new: DeviceView,
  assetId: Uuid,
  deploymentId: Type.Union([Type.String(), Type.Null()], { description: "The deployment of the asset's configuration to the new device" }),
  deploymentError: Type.Optional(Type.Object({ code: Type.String(), detail: Type.String() })),
});

/** A row of `lifecycle.devices`. */
export interface DeviceRow {
  id: string;
  org_id: string;
  serial: string;
  model_id: string;
  firmware: string;
  state: DeviceState;
  site_id: string | null;
  asset_id: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
  /** When the device entered its asset's slot (null at no asset). */
  installed_at: Date | null;
}

/** The device as the API returns it and the audit log records it. */
export function deviceView(r: DeviceRow): DeviceViewData {
  return {
    id: r.id,
    orgId: r.org_id,
    serial: r.serial,
    modelId: r.model_id,
    firmware: r.firmware,
    state: r.state,
    siteId: r.site_id,
    assetId: r.asset_id,
    version: r.version,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/** `"device-<id>-v<version>"` */
export const deviceEtag = (d: { id: string; version: number }) => etagOf('device', d.id, d.version);

/** The guards' view of a device row. */
export const guardDevice = (r: DeviceRow) => ({ id: r.id, orgId: r.org_id, serial: r.serial, modelId: r.model_id, state: r.state, assetId: r.asset_id });
