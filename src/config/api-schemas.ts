import { Type } from 'typebox';
import { NAME_PATTERN } from '../core/names.ts';

/** Request and response schemas of the configuration API: validation, types and OpenAPI at once. */
export const Uuid = Type.String({ format: 'uuid' });
/** No control character, at least one non-space; linear on any input (the pattern also runs on over-long values: allErrors). */
const Name = Type.String({ minLength: 1, maxLength: 120, pattern: NAME_PATTERN });
const Serial = Type.Union([Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]*$' }), Type.Null()]);
const Status = Type.Union([Type.Literal('planned'), Type.Literal('active'), Type.Literal('retired')]);
const Kind = Type.Union([Type.Literal('gateway'), Type.Literal('controller'), Type.Literal('meter'), Type.Literal('sensor')]);
const PortName = Type.Union([Type.String({ minLength: 1, maxLength: 32 }), Type.Null()]);
const Firmware = Type.Union([Type.String({ pattern: '^\\d{1,4}\\.\\d{1,4}\\.\\d{1,4}$' }), Type.Null()]);
/** A configuration document; its shape is checked against the asset model's schema. */
export const ConfigDoc = Type.Record(Type.String(), Type.Unknown(), { description: 'Configuration document; see GET /v1/models/{id} for its schema' });

export const Network = Type.Object(
  {
    subnet: Type.String({ pattern: '^\\d{1,3}(\\.\\d{1,3}){3}/\\d{1,2}$', description: 'IPv4 CIDR, e.g. 10.20.0.0/24' }),
    router: Type.String({ format: 'ipv4' }),
    vlan: Type.Optional(Type.Integer({ minimum: 1, maximum: 4094 })),
  },
  { additionalProperties: false },
);

export const SiteView = Type.Object({
  id: Uuid,
  orgId: Uuid,
  code: Type.String(),
  name: Type.String(),
  timezone: Type.String(),
  network: Network,
  revision: Type.Integer(),
  version: Type.Integer(),
});

/** Checked by `timezoneProblem` (core/changes/timezone.ts) where sites are created and changed. */
const TimeZone = Type.String({ minLength: 1, maxLength: 64, description: 'A time zone of the IANA database, spelt as it is there, e.g. Europe/Berlin' });

export const SiteCreate = Type.Object(
  {
    code: Type.String({ pattern: '^[A-Z0-9][A-Z0-9-]{0,31}$', description: 'Unique per organisation: upper-case letters, digits, hyphens' }),
    name: Name,
    timezone: TimeZone,
    network: Network,
    orgId: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);

export const SitePatch = Type.Object(
  {
    name: Type.Optional(Name),
    timezone: Type.Optional(TimeZone),
    network: Type.Optional(
      Type.Object(
        {
          subnet: Type.Optional(Network.properties.subnet),
          router: Type.Optional(Network.properties.router),
          vlan: Type.Optional(Type.Union([Network.properties.vlan, Type.Null()], { description: 'null removes the VLAN' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const AssetView = Type.Object({
  id: Uuid,
  siteId: Uuid,
  kind: Kind,
  modelId: Type.String(),
  name: Type.String(),
  serial: Type.Union([Type.String(), Type.Null()]),
  status: Status,
  firmware: Type.Union([Type.String(), Type.Null()]),
  parentId: Type.Union([Uuid, Type.Null()]),
  port: Type.Union([Type.String(), Type.Null()]),
  config: ConfigDoc,
  configVersion: Type.Integer(),
  deployedVersion: Type.Union([Type.Integer(), Type.Null()]),
  version: Type.Integer(),
});

const newAssetFields = {
  id: Type.Optional(Uuid),
  kind: Kind,
  modelId: Type.String({ minLength: 1, maxLength: 64 }),
  name: Name,
  serial: Type.Optional(Serial),
  status: Type.Optional(Status),
  firmware: Type.Optional(Firmware),
  parentId: Type.Optional(Type.Union([Uuid, Type.Null()])),
  port: Type.Optional(PortName),
  config: Type.Optional(ConfigDoc),
};
export const NewAsset = Type.Object(newAssetFields, { additionalProperties: false });
export const AssetCreate = Type.Object({ siteId: Uuid, ...newAssetFields }, { additionalProperties: false });

export const AssetPatch = Type.Object(
  {
    name: Type.Optional(Name),
    serial: Type.Optional(Serial),
    status: Type.Optional(Status),
    firmware: Type.Optional(Firmware),
    parentId: Type.Optional(Type.Union([Uuid, Type.Null()])),
    port: Type.Optional(PortName),
    config: Type.Optional({ ...ConfigDoc, description: 'JSON Merge Patch (RFC 7396) of the configuration; an asset always has one, so it cannot be removed (null)' }),
  },
  { additionalProperties: false },
);

const CableEnd = Type.Object({ assetId: Uuid, port: Type.String({ minLength: 1, maxLength: 32 }) }, { additionalProperties: false });
const Length = Type.Number({ minimum: 0, maximum: 100000, description: 'Cable length in metres' });
const Label = Type.Union([Type.String({ maxLength: 120 }), Type.Null()]);

export const ConnectionView = Type.Object({
  id: Uuid,
  siteId: Uuid,
  a: CableEnd,
  b: CableEnd,
  label: Label,
  lengthM: Type.Number(),
  version: Type.Integer(),
});
const newConnectionFields = { id: Type.Optional(Uuid), a: CableEnd, b: CableEnd, label: Type.Optional(Label), lengthM: Length };
export const NewConnection = Type.Object(newConnectionFields, { additionalProperties: false });
export const ConnectionCreate = Type.Object({ siteId: Uuid, ...newConnectionFields }, { additionalProperties: false });
export const ConnectionPatch = Type.Object({ label: Type.Optional(Label), lengthM: Type.Optional(Length) }, { additionalProperties: false });

const Expected = Type.Integer({ minimum: 0, description: 'The version this operation is based on (the version in the entity ETag)' });
export const OperationSchema = Type.Union([
  Type.Object({ op: Type.Literal('createAsset'), asset: NewAsset }, { additionalProperties: false }),
  Type.Object({ op: Type.Literal('updateAsset'), id: Uuid, expectedVersion: Expected, patch: AssetPatch }, { additionalProperties: false }),
  Type.Object({ op: Type.Literal('setConfig'), id: Uuid, expectedVersion: Expected, config: ConfigDoc }, { additionalProperties: false }),
  Type.Object({ op: Type.Literal('deleteAsset'), id: Uuid, expectedVersion: Expected }, { additionalProperties: false }),
  Type.Object({ op: Type.Literal('connect'), connection: NewConnection }, { additionalProperties: false }),
  Type.Object({ op: Type.Literal('updateConnection'), id: Uuid, expectedVersion: Expected, patch: ConnectionPatch }, { additionalProperties: false }),
  Type.Object({ op: Type.Literal('disconnect'), id: Uuid, expectedVersion: Expected }, { additionalProperties: false }),
  Type.Object({ op: Type.Literal('updateSite'), expectedVersion: Expected, patch: SitePatch }, { additionalProperties: false }),
]);

export const ChangesetRequest = Type.Object(
  {
    operations: Type.Array(OperationSchema, { minItems: 1, maxItems: 1000 }),
    comment: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

export const ViolationSchema = Type.Object({
  rule: Type.String(),
  code: Type.String(),
  message: Type.String(),
  assetIds: Type.Array(Type.String()),
  path: Type.Optional(Type.String()),
  severity: Type.Union([Type.Literal('error'), Type.Literal('warning')]),
});

export const PlannedChangeSchema = Type.Object({
  entityType: Type.Union([Type.Literal('asset'), Type.Literal('connection'), Type.Literal('site')]),
  entityId: Type.String(),
  action: Type.Union([Type.Literal('create'), Type.Literal('update'), Type.Literal('delete')]),
  before: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  after: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  diff: Type.Array(Type.Object({}, { additionalProperties: true })),
  etag: Type.Union([Type.String(), Type.Null()]),
});

export const ChangesetResult = Type.Object({
  changesetId: Type.Union([Uuid, Type.Null()], {
    description: 'The recorded change set (GET /v1/changesets/{id}); null when nothing was recorded: a dry run, or operations that change nothing',
  }),
  dryRun: Type.Boolean(),
  siteRevision: Type.Integer(),
  changes: Type.Optional(
    Type.Array(PlannedChangeSchema, { description: 'Each changed entity with before, after, diff and etag; left out when the request sent `Prefer: return=minimal`' }),
  ),
  impacted: Type.Array(Type.String()),
  violations: Type.Array(ViolationSchema),
  valid: Type.Boolean({ description: 'False when an error-severity violation would refuse the change' }),
});

export const IdParams = Type.Object({ id: Uuid });
export const SiteIdParams = Type.Object({ siteId: Uuid });
export const DryRunQuery = Type.Object({ dryRun: Type.Optional(Type.Boolean({ default: false })) });
