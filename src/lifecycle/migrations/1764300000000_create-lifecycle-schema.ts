import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * The device lifecycle service's tables: physical devices and their states, deployments of
 * configuration versions to devices, and what devices report. Asset and site ids refer to the
 * configuration service by value: services never join each other's tables.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    CREATE TABLE lifecycle.devices (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL,
      serial text NOT NULL,
      model_id text NOT NULL,
      firmware text NOT NULL,
      state text NOT NULL CHECK (state IN ('in_stock','installed','commissioned','active','maintenance','decommissioned','faulty','rma')),
      site_id uuid,
      asset_id uuid,
      version integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT devices_slot_needs_asset CHECK (state NOT IN ('installed','commissioned','active','maintenance') OR asset_id IS NOT NULL)
    );
    CREATE UNIQUE INDEX devices_serial_unique ON lifecycle.devices (lower(btrim(serial)));
    -- One device per asset slot, whatever races: the last line behind the install guard.
    CREATE UNIQUE INDEX devices_one_per_slot ON lifecycle.devices (asset_id)
      WHERE state IN ('installed','commissioned','active','maintenance');
    CREATE INDEX devices_site_idx ON lifecycle.devices (site_id, id);
    CREATE INDEX devices_state_idx ON lifecycle.devices (state, id);

    CREATE TABLE lifecycle.deployments (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL,
      site_id uuid NOT NULL,
      status text NOT NULL CHECK (status IN ('running','succeeded','failed','aborted','cancelled')),
      batch_size integer NOT NULL CHECK (batch_size > 0),
      failure_threshold double precision NOT NULL CHECK (failure_threshold >= 0 AND failure_threshold <= 1),
      timeout_ms integer NOT NULL CHECK (timeout_ms > 0),
      current_batch integer NOT NULL DEFAULT 0,
      actor jsonb NOT NULL,
      request_id text,
      comment text,
      reason text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    );
    CREATE INDEX deployments_site_idx ON lifecycle.deployments (site_id, created_at DESC, id DESC);
    CREATE INDEX deployments_running_idx ON lifecycle.deployments (id) WHERE status = 'running';

    CREATE TABLE lifecycle.deployment_targets (
      deployment_id uuid NOT NULL REFERENCES lifecycle.deployments(id),
      asset_id uuid NOT NULL,
      gateway_id uuid NOT NULL,
      site_code text NOT NULL,
      batch integer NOT NULL,
      config_version integer NOT NULL,
      config_hash text NOT NULL,
      config jsonb NOT NULL,
      status text NOT NULL CHECK (status IN ('pending','sent','acked','failed','timed_out','cancelled')),
      error text,
      sent_at timestamptz,
      finished_at timestamptz,
      PRIMARY KEY (deployment_id, asset_id)
    );
    CREATE INDEX deployment_targets_open_idx ON lifecycle.deployment_targets (deployment_id, batch) WHERE status IN ('pending','sent');
    CREATE INDEX deployment_targets_asset_idx ON lifecycle.deployment_targets (asset_id);

    CREATE TABLE lifecycle.reported_state (
      asset_id uuid PRIMARY KEY,
      site_code text NOT NULL,
      gateway_id uuid NOT NULL,
      version integer NOT NULL,
      hash text NOT NULL,
      reported_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE lifecycle.outbox (
      id bigserial PRIMARY KEY,
      topic text NOT NULL,
      key text NOT NULL,
      payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      published_at timestamptz
    );
    CREATE INDEX lifecycle_outbox_unpublished_idx ON lifecycle.outbox (id) WHERE published_at IS NULL;
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`DROP SCHEMA lifecycle CASCADE`);
}
