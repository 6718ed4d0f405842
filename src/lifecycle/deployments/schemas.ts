import { Type } from 'typebox';
import { DEPLOYMENT_STATUSES, type DeploymentStatus } from './deployment-store.ts';
import { TARGET_STATUSES, type TargetStatus } from './next-step.ts';

/** Request and response schemas of the deployment and drift API: validation, types and OpenAPI at once. */
const Uuid = Type.String({ format: 'uuid' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const DateTime = Type.String({ format: 'date-time' });
const Hash = Type.String({ description: 'sha256 of the canonical JSON of the configuration, `sha256:<hex>`' });

export const DeploymentStatusSchema = Type.Unsafe<DeploymentStatus>({ type: 'string', enum: [...DEPLOYMENT_STATUSES] });
export const TargetStatusSchema = Type.Unsafe<TargetStatus>({ type: 'string', enum: [...TARGET_STATUSES] });

export const DeploymentCreate = Type.Object(
  {
    siteId: Uuid,
    assetIds: Type.Optional(Type.Array(Uuid, { minItems: 1, maxItems: 5000, uniqueItems: true, description: 'Omit to deploy every asset of the site that is not retired' })),
    batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Targets per batch (default 10)' })),
    failureThreshold: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: 'Share (0–1) of failed or silent targets so far above which the remaining batches are aborted (default 0.1)' }),
    ),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 86_400_000, description: 'How long a device has to acknowledge once sent (default 30000)' })),
    comment: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
  },
  { additionalProperties: false },
);

export const CancelRequest = Type.Object({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })) }, { additionalProperties: false });

const Counts = Type.Object({
  total: Type.Integer(),
  pending: Type.Integer(),
  sent: Type.Integer(),
  acked: Type.Integer(),
  failed: Type.Integer(),
  timed_out: Type.Integer(),
  cancelled: Type.Integer(),
});

export const DeploymentSchema = Type.Object({
  id: Uuid,
  orgId: Uuid,
  siteId: Uuid,
  status: DeploymentStatusSchema,
  batchSize: Type.Integer(),
  failureThreshold: Type.Number(),
  timeoutMs: Type.Integer(),
  currentBatch: Type.Integer({ description: '0 until the first batch starts' }),
  batches: Type.Integer(),
  comment: Nullable(Type.String()),
  reason: Nullable(Type.String({ description: 'Why it failed, was aborted or cancelled' })),
  actor: Type.Object({}, { additionalProperties: true }),
  requestId: Nullable(Type.String()),
  createdAt: DateTime,
  updatedAt: DateTime,
  finishedAt: Nullable(DateTime),
  targets: Counts,
});

export const TargetSchema = Type.Object({
  assetId: Uuid,
  gatewayId: Uuid,
  siteCode: Type.String(),
  batch: Type.Integer(),
  configVersion: Type.Integer(),
  configHash: Hash,
  status: TargetStatusSchema,
  error: Nullable(Type.String()),
  sentAt: Nullable(DateTime),
  finishedAt: Nullable(DateTime),
});

export const DeploymentDetail = Type.Object({ ...DeploymentSchema.properties, results: Type.Array(TargetSchema) });

export const ListQuery = Type.Object({
  siteId: Type.Optional(Uuid),
  status: Type.Optional(DeploymentStatusSchema),
});

const Desired = Type.Object({ version: Type.Integer(), hash: Hash });
const Deployed = Nullable(Type.Object({ version: Type.Integer({ description: 'The version the device last acknowledged' }) }));
const Reported = Nullable(Type.Object({ version: Type.Integer(), hash: Hash, gatewayId: Uuid, reportedAt: DateTime }));
const DriftReason = Nullable(Type.Union([Type.Literal('not_reported'), Type.Literal('hash_differs')]));

export const AssetDeploymentState = Type.Object({
  assetId: Uuid,
  siteId: Uuid,
  name: Type.String(),
  kind: Type.String(),
  gatewayId: Nullable(Uuid),
  desired: Desired,
  deployed: Deployed,
  reported: Reported,
  drift: Type.Boolean({ description: 'The device reports no configuration, or another one than the desired' }),
  driftReason: DriftReason,
});

export const AssetDeploymentStateDetail = Type.Object({
  ...AssetDeploymentState.properties,
  lastDeployment: Nullable(
    Type.Object({ id: Uuid, status: DeploymentStatusSchema, createdAt: DateTime, target: Type.Object({ configVersion: Type.Integer(), status: TargetStatusSchema, error: Nullable(Type.String()) }) }),
  ),
});

export const SiteDrift = Type.Object({
  siteId: Uuid,
  siteCode: Type.String(),
  summary: Type.Object({ assets: Type.Integer(), inSync: Type.Integer(), drifted: Type.Integer(), notReported: Type.Integer() }),
  assets: Type.Array(AssetDeploymentState),
});
