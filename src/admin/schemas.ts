import { Type } from 'typebox';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './passwords.ts';
import { NAME_PATTERN } from '../core/names.ts';

/** Request and response schemas of the admin API: validation, types and OpenAPI at once. */
export const Uuid = Type.String({ format: 'uuid' });
export const IdParams = Type.Object({ id: Uuid });
const Timestamp = Type.String({ format: 'date-time' });
/**
 * An instant as the admin API writes it (`Date#toISOString`): UTC, milliseconds, a year from 1000 —
 * for cursors, so that an edited one is refused before PostgreSQL reads it (year 0 and offsets
 * past ±15:59 are valid RFC 3339 it would refuse).
 */
export const IsoInstant = Type.String({ format: 'date-time', pattern: '^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$' });
/** Text of a cursor position: anything PostgreSQL can compare, so no NUL. */
export const CursorText = Type.String({ maxLength: 254, pattern: '^[^\\u0000]*$' });
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
/** No control character, at least one non-space; linear on any input (the pattern also runs on over-long values: allErrors). */
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: NAME_PATTERN });
export const Email = Type.String({ format: 'email', maxLength: 254 });
export const Password = Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH, description: `${MIN_PASSWORD_LENGTH}–${MAX_PASSWORD_LENGTH} characters` });
export const RoleName = Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('engineer'), Type.Literal('admin'), Type.Literal('auditor')]);

export const RoleBindingView = Type.Object({ orgId: Uuid, siteId: Type.Union([Uuid, Type.Null()]), role: RoleName });
/** A binding asked for: in the caller's organisation, org-wide (no siteId) or on one site (its id, by value). */
export const RoleBindingInput = Type.Object(
  { role: RoleName, siteId: Type.Optional(Type.Union([Uuid, Type.Null()], { description: 'Omit or null for the whole organisation' })) },
  { additionalProperties: false },
);

export const OrgView = Type.Object({ id: Uuid, name: Type.String(), platform: Type.Boolean(), version: Type.Integer(), createdAt: Timestamp, updatedAt: Timestamp });
export const OrgCreate = Type.Object(
  {
    name: Name,
    admin: Type.Optional(
      Type.Object(
        { email: Email, name: Name, password: Type.Optional(Password) },
        { additionalProperties: false, description: "The new organisation's first admin; without a password one is generated and returned once" },
      ),
    ),
  },
  { additionalProperties: false },
);
export const OrgPatch = Type.Object({ name: Type.Optional(Name) }, { additionalProperties: false });

export const UserView = Type.Object({
  id: Uuid,
  orgId: Uuid,
  email: Type.String(),
  name: Type.String(),
  disabled: Type.Boolean(),
  roles: Type.Array(RoleBindingView),
  version: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export const UserCreated = Type.Object({ ...UserView.properties, initialPassword: Type.Optional(Type.String({ description: 'Generated password, shown once' })) });
export const UserCreate = Type.Object(
  { email: Email, name: Name, password: Type.Optional(Password), roles: Type.Optional(Type.Array(RoleBindingInput, { maxItems: 500 })) },
  { additionalProperties: false },
);
export const UserPatch = Type.Object(
  {
    name: Type.Optional(Name),
    email: Type.Optional(Email),
    disabled: Type.Optional(Type.Boolean({ description: 'true: every token of the user stops working (admins only)' })),
    password: Type.Optional(Password),
    currentPassword: Type.Optional(Type.String({ maxLength: MAX_PASSWORD_LENGTH, description: 'Required to change your own password' })),
  },
  { additionalProperties: false },
);
export const RolesView = Type.Object({ items: Type.Array(RoleBindingView) });
export const RolesPut = Type.Object({ items: Type.Array(RoleBindingInput, { maxItems: 500 }) }, { additionalProperties: false });

export const TokenStatus = Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')]);
export const TokenId = Type.String({ pattern: '^token:[0-9a-f]{12}$', description: 'token: and 12 hex digits of the sha256 of the secret' });
export const TokenIdParams = Type.Object({ id: TokenId });
export const TokenView = Type.Object({
  id: TokenId,
  orgId: Uuid,
  userId: Uuid,
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the secret' }),
  roles: Type.Array(RoleBindingView),
  status: TokenStatus,
  expiresAt: NullableTimestamp,
  revokedAt: NullableTimestamp,
  lastUsedAt: NullableTimestamp,
  createdAt: Timestamp,
  version: Type.Integer(),
});
export const TokenCreated = Type.Object({ ...TokenView.properties, secret: Type.String({ description: 'The bearer token. Shown once: rema keeps only its hash' }) });
export const TokenCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: NAME_PATTERN }),
    roles: Type.Optional(Type.Array(RoleBindingInput, { maxItems: 500, description: 'Default: your own bindings. Each must be covered by one of yours' })),
    expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'Default: in 90 days; at most 365 days ahead' })),
  },
  { additionalProperties: false },
);

export const LoginBody = Type.Object({ email: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH }) }, { additionalProperties: false });
export const TokenPair = Type.Object({
  accessToken: Type.String({ description: 'ES256 JWT; send as Authorization: Bearer' }),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'Seconds the access token stays valid' }),
  refreshToken: Type.String({ description: 'Single use: POST /v1/auth/refresh for a new pair' }),
  refreshExpiresIn: Type.Integer(),
});
export const RefreshBody = Type.Object({ refreshToken: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false });
export const ServiceTokenBody = Type.Object(
  { service: Type.String({ pattern: '^[a-z][a-z0-9-]{1,31}$' }), secret: Type.String({ minLength: 1, maxLength: 512 }) },
  { additionalProperties: false },
);
export const AccessToken = Type.Object({ accessToken: Type.String(), tokenType: Type.Literal('Bearer'), expiresIn: Type.Integer() });

export const PrincipalView = Type.Object({
  kind: Type.Union([Type.Literal('user'), Type.Literal('token'), Type.Literal('service')]),
  id: Type.String(),
  name: Type.String(),
  orgId: Type.Union([Uuid, Type.Null()]),
  bindings: Type.Array(RoleBindingView),
  onBehalfOf: Type.Optional(Type.Object({ id: Type.String(), name: Type.String() })),
});
export const MeView = Type.Object({ ...PrincipalView.properties, user: Type.Optional(UserView) });
export const IntrospectBody = Type.Object({ token: Type.String({ minLength: 1, maxLength: 16_384 }) }, { additionalProperties: false });
export const IntrospectView = Type.Object({
  active: Type.Boolean(),
  principal: Type.Optional(PrincipalView),
  expiresAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: "An API token's expiry (null: none): the caller keeps the answer no longer" })),
});
