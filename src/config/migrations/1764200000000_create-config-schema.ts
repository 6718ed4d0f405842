import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * The configuration service's tables. Rules decide what is valid; these constraints are the
 * last line behind them (their violations answer 409, never 500).
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    CREATE TABLE config.sites (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL,
      code text NOT NULL CHECK (code ~ '^[A-Z0-9][A-Z0-9-]{0,31}$'),
      name text NOT NULL,
      timezone text NOT NULL,
      network jsonb NOT NULL,
      revision bigint NOT NULL DEFAULT 0,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT sites_org_code_unique UNIQUE (org_id, code)
    );

    CREATE TABLE config.assets (
      id uuid PRIMARY KEY,
      site_id uuid NOT NULL REFERENCES config.sites(id),
      kind text NOT NULL CHECK (kind IN ('gateway', 'controller', 'meter', 'sensor')),
      model_id text NOT NULL,
      name text NOT NULL,
      serial text,
      status text NOT NULL CHECK (status IN ('planned', 'active', 'retired')),
      firmware text,
      parent_id uuid REFERENCES config.assets(id) DEFERRABLE INITIALLY DEFERRED,
      port text,
      config jsonb NOT NULL,
      config_version integer NOT NULL,
      deployed_version integer,
      version integer NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT assets_not_own_parent CHECK (parent_id IS DISTINCT FROM id)
    );
    CREATE UNIQUE INDEX assets_site_name_unique ON config.assets (site_id, lower(name));
    CREATE UNIQUE INDEX assets_serial_unique ON config.assets (lower(btrim(serial))) WHERE serial IS NOT NULL;
    CREATE INDEX assets_site_idx ON config.assets (site_id, id);
    CREATE INDEX assets_parent_idx ON config.assets (parent_id);
    CREATE INDEX assets_model_idx ON config.assets (model_id);

    CREATE TABLE config.config_versions (
      asset_id uuid NOT NULL,
      version integer NOT NULL,
      site_id uuid NOT NULL,
      parent_id uuid,
      port text,
      config jsonb NOT NULL,
      changeset_id uuid NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (asset_id, version)
    );

    CREATE TABLE config.connections (
      id uuid PRIMARY KEY,
      site_id uuid NOT NULL REFERENCES config.sites(id),
      a_asset_id uuid NOT NULL REFERENCES config.assets(id) DEFERRABLE INITIALLY DEFERRED,
      a_port text NOT NULL,
      b_asset_id uuid NOT NULL REFERENCES config.assets(id) DEFERRABLE INITIALLY DEFERRED,
      b_port text NOT NULL,
      label text,
      length_m double precision NOT NULL CHECK (length_m >= 0),
      version integer NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX connections_site_idx ON config.connections (site_id, id);
    CREATE INDEX connections_a_idx ON config.connections (a_asset_id);
    CREATE INDEX connections_b_idx ON config.connections (b_asset_id);

    CREATE TABLE config.changesets (
      id uuid PRIMARY KEY,
      site_id uuid NOT NULL,
      site_revision bigint,
      actor jsonb NOT NULL,
      request_id text,
      comment text,
      operations jsonb NOT NULL,
      outcome text NOT NULL CHECK (outcome IN ('applied', 'refused')),
      violations jsonb,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX changesets_site_idx ON config.changesets (site_id, created_at DESC, id DESC);

    CREATE TABLE config.outbox (
      id bigserial PRIMARY KEY,
      topic text NOT NULL,
      key text NOT NULL,
      payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      published_at timestamptz
    );
    CREATE INDEX outbox_unpublished_idx ON config.outbox (id) WHERE published_at IS NULL;

    CREATE TABLE config.idempotency_keys (
      actor_id text NOT NULL,
      key text NOT NULL,
      request_hash text NOT NULL,
      status integer NOT NULL,
      headers jsonb NOT NULL,
      body jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (actor_id, key)
    );
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`DROP SCHEMA config CASCADE`);
}
