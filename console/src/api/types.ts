/**
 * Names for the API's shapes, all derived from the generated `paths` — nothing here is written
 * by hand, so a changed route shows up as a type error in the console.
 */
import type { components, paths } from './schema';

type Ok<Op> = Op extends { responses: { 200: { content: { 'application/json': infer T } } } }
  ? T
  : Op extends { responses: { 201: { content: { 'application/json': infer T } } } }
    ? T
    : never;
type Body<Op> = Op extends { requestBody?: { content: { 'application/json': infer T } } } ? T : never;

/** The JSON a successful `M` on `P` answers. */
export type ResponseOf<P extends keyof paths, M extends keyof paths[P]> = Ok<paths[P][M]>;
/** The JSON body `M` on `P` takes. */
export type BodyOf<P extends keyof paths, M extends keyof paths[P]> = Body<paths[P][M]>;

export type Problem = components['schemas']['Problem'];
export type Me = ResponseOf<'/v1/auth/me', 'get'>;
export type RoleBinding = Me['bindings'][number];
export type Role = RoleBinding['role'];
export type Org = ResponseOf<'/v1/orgs/{id}', 'get'>;
export type Site = ResponseOf<'/v1/sites/{id}', 'get'>;
export type SiteGraph = ResponseOf<'/v1/sites/{id}/graph', 'get'>;
export type Asset = SiteGraph['assets'][number];
export type Connection = SiteGraph['connections'][number];
export type Model = ResponseOf<'/v1/models/{id}', 'get'>;
export type ModelSummary = ResponseOf<'/v1/models', 'get'>['items'][number];
export type ChangesetBody = BodyOf<'/v1/sites/{siteId}/changesets', 'post'>;
export type Operation = ChangesetBody['operations'][number];
export type ChangesetResult = ResponseOf<'/v1/sites/{siteId}/changesets', 'post'>;
export type Violation = ChangesetResult['violations'][number];
export type ChangesetRecord = ResponseOf<'/v1/changesets/{id}', 'get'>;
export type ConfigVersion = ResponseOf<'/v1/assets/{id}/versions/{version}', 'get'>;
export type DeploymentState = ResponseOf<'/v1/assets/{id}/deployment-state', 'get'>;
export type Drift = ResponseOf<'/v1/sites/{id}/drift', 'get'>;
export type Deployment = ResponseOf<'/v1/deployments/{id}', 'get'>;
export type DeploymentSummary = ResponseOf<'/v1/deployments', 'get'>['items'][number];
export type DeploymentBody = BodyOf<'/v1/deployments', 'post'>;
export type Device = ResponseOf<'/v1/devices/{id}', 'get'>;
export type DeviceState = Device['state'];
export type Transitions = ResponseOf<'/v1/devices/{id}/transitions', 'get'>;
export type TransitionName = Transitions['items'][number]['transition'];
/**
 * The OpenAPI document gives audit events as free-form objects, so their fields are spelled out
 * here from docs/audit.md; {@link asAuditEvents} is the one place that narrows them.
 */
export interface AuditEvent {
  id: string;
  scope: string;
  seq: number;
  at: string;
  actor: { type: string; id: string; name?: string; onBehalfOf?: { id: string; name?: string } };
  requestId: string | null;
  changesetId: string | null;
  service: string;
  orgId: string | null;
  siteId: string | null;
  siteRevision: number | null;
  entityType: string;
  entityId: string;
  action: string;
  outcome: 'applied' | 'refused' | 'denied';
  before: unknown;
  after: unknown;
  diff: unknown;
  comment: string | null;
  sourceIp: string | null;
  violations: Violation[] | null;
}
export const asAuditEvents = (items: ReadonlyArray<Record<string, unknown>>): AuditEvent[] => items as unknown as AuditEvent[];
export type AuditQuery = NonNullable<paths['/v1/audit']['get']['parameters']['query']>;
export type AuditVerify = ResponseOf<'/v1/audit/verify', 'get'>;
export type User = ResponseOf<'/v1/users/{id}', 'get'>;
export type ApiToken = ResponseOf<'/v1/tokens/{id}', 'get'>;
export type CreatedToken = ResponseOf<'/v1/tokens', 'post'>;
export type CreatedUser = ResponseOf<'/v1/users', 'post'>;
export type Firmware = ResponseOf<'/v1/firmware', 'get'>;
export type Rule = ResponseOf<'/v1/rules', 'get'>['items'][number];
