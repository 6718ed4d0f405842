import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * The admin service's tables: organisations, users and their role bindings, API tokens,
 * refresh sessions, login failure counters, the JWT signing keys and the outbox. Secrets are
 * never stored: passwords as Argon2id hashes, tokens as sha256 of a 256-bit random secret.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    CREATE TABLE admin.orgs (
      id uuid PRIMARY KEY,
      name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
      -- The platform organisation (made by the bootstrap): its admins may create organisations.
      platform boolean NOT NULL DEFAULT false,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    -- Names need not be unique: a uniqueness error would tell one tenant that another exists.
    CREATE INDEX orgs_name_idx ON admin.orgs (name, id);
    CREATE UNIQUE INDEX orgs_one_platform ON admin.orgs (platform) WHERE platform;

    CREATE TABLE admin.users (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES admin.orgs(id),
      -- Stored lower-case: an email is the login name, unique across every organisation.
      email text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
      name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
      password_hash text,
      disabled boolean NOT NULL DEFAULT false,
      deleted_at timestamptz,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT users_deleted_are_disabled CHECK (deleted_at IS NULL OR disabled)
    );
    CREATE UNIQUE INDEX users_email_unique ON admin.users (email) WHERE deleted_at IS NULL;
    CREATE INDEX users_org_idx ON admin.users (org_id, email, id) WHERE deleted_at IS NULL;

    -- Site ids are references by value into the config service (no foreign key across services).
    CREATE TABLE admin.role_bindings (
      user_id uuid NOT NULL REFERENCES admin.users(id),
      org_id uuid NOT NULL REFERENCES admin.orgs(id),
      site_id uuid,
      role text NOT NULL CHECK (role IN ('viewer', 'operator', 'engineer', 'admin', 'auditor')),
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX role_bindings_unique
      ON admin.role_bindings (user_id, role, coalesce(site_id, '00000000-0000-0000-0000-000000000000'::uuid));
    CREATE INDEX role_bindings_org_admin_idx ON admin.role_bindings (org_id) WHERE role = 'admin' AND site_id IS NULL;

    -- id: 'token:' and the first 12 hex digits of the secret's sha256 — what the audit log has
    -- always recorded for the operator token, and computable by whoever holds the secret.
    CREATE TABLE admin.api_tokens (
      id text PRIMARY KEY CHECK (id ~ '^token:[0-9a-f]{12}$'),
      org_id uuid NOT NULL REFERENCES admin.orgs(id),
      -- The user who created the token; it acts on their behalf and dies with their access.
      user_id uuid NOT NULL REFERENCES admin.users(id),
      name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
      secret_hash bytea NOT NULL,
      -- The first characters of the secret, so people can tell their tokens apart.
      prefix text NOT NULL,
      bindings jsonb NOT NULL CHECK (jsonb_typeof(bindings) = 'array'),
      expires_at timestamptz,
      revoked_at timestamptz,
      last_used_at timestamptz,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT api_tokens_secret_hash_unique UNIQUE (secret_hash)
    );
    CREATE INDEX api_tokens_org_idx ON admin.api_tokens (org_id, created_at, id);
    CREATE INDEX api_tokens_user_idx ON admin.api_tokens (user_id);

    -- Refresh tokens of logged-in users, rotated on every use.
    CREATE TABLE admin.sessions (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES admin.users(id),
      secret_hash bytea NOT NULL UNIQUE,
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX sessions_user_idx ON admin.sessions (user_id) WHERE revoked_at IS NULL;

    -- Keyed by the normalised email, known or not, so unknown accounts lock out exactly like
    -- known ones and a lockout never tells whether an account exists.
    CREATE TABLE admin.login_failures (
      account text PRIMARY KEY,
      failures integer NOT NULL,
      last_failure_at timestamptz NOT NULL,
      locked_until timestamptz
    );

    CREATE TABLE admin.signing_keys (
      kid text PRIMARY KEY,
      alg text NOT NULL,
      public_jwk jsonb NOT NULL,
      private_jwk jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      retired_at timestamptz
    );

    -- Writers take an advisory lock before inserting (publishAdminEvents), so ids become visible
    -- in order and a feed reader that has seen id n never later finds an id below n.
    CREATE TABLE admin.outbox (
      id bigserial PRIMARY KEY,
      topic text NOT NULL,
      key text NOT NULL,
      payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      published_at timestamptz
    );
    CREATE INDEX outbox_created_idx ON admin.outbox (created_at);
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`DROP SCHEMA admin CASCADE`);
}
