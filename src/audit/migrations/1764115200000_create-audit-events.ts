import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * The shared audit log: one append-only, hash-chained table of events plus the head of
 * each chain. See docs/audit.md for what each column means and how the chain is hashed.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    CREATE TABLE audit.events (
      id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      scope         text NOT NULL CHECK (scope <> ''),
      seq           bigint NOT NULL CHECK (seq > 0),
      -- Written by the application with millisecond precision; the hash covers its ISO
      -- form, and keyset cursors compare it, so a finer value would break both.
      at            timestamptz NOT NULL CHECK (at = date_trunc('milliseconds', at)),
      actor         jsonb NOT NULL CHECK (jsonb_typeof(actor) = 'object'),
      request_id    text,
      changeset_id  uuid,
      service       text NOT NULL,
      org_id        uuid,
      site_id       uuid,
      site_revision bigint,
      entity_type   text NOT NULL,
      entity_id     text NOT NULL,
      action        text NOT NULL,
      outcome       text NOT NULL CHECK (outcome IN ('applied', 'refused', 'denied')),
      before        jsonb,
      after         jsonb,
      diff          jsonb NOT NULL DEFAULT '[]',
      comment       text,
      source_ip     text,
      violations    jsonb,
      prev_hash     text,
      hash          text NOT NULL,
      CONSTRAINT events_scope_seq_key UNIQUE (scope, seq)
    );

    -- Every list query is "newest first" with an (at, id) keyset cursor, so each filter
    -- index ends in (at, id) and serves both the filter and the order.
    CREATE INDEX events_at_idx        ON audit.events (at, id);
    CREATE INDEX events_site_at_idx   ON audit.events (site_id, at, id) WHERE site_id IS NOT NULL;
    CREATE INDEX events_org_at_idx    ON audit.events (org_id, at, id) WHERE org_id IS NOT NULL;
    CREATE INDEX events_entity_at_idx ON audit.events (entity_id, at, id);
    CREATE INDEX events_actor_at_idx  ON audit.events ((actor->>'id'), at, id);
    CREATE INDEX events_changeset_idx ON audit.events (changeset_id) WHERE changeset_id IS NOT NULL;
    CREATE INDEX events_request_idx   ON audit.events (request_id) WHERE request_id IS NOT NULL;
    CREATE INDEX events_action_at_idx ON audit.events (action, at, id);
    -- Almost every event is 'applied'; the interesting ones (refused, denied) are rare,
    -- so a partial index keeps them findable without indexing the bulk.
    CREATE INDEX events_outcome_at_idx ON audit.events (outcome, at, id) WHERE outcome <> 'applied';

    -- The last link of each chain. Appenders lock this row, which serialises appends to
    -- one scope across every instance; verify compares it with the last event so a
    -- removed tail is noticed.
    CREATE TABLE audit.chain_heads (
      scope text PRIMARY KEY,
      seq   bigint NOT NULL,
      hash  text
    );

    CREATE FUNCTION audit.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit.events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit events are never updated or deleted.';
    END
    $$;

    CREATE TRIGGER events_refuse_update_delete
      BEFORE UPDATE OR DELETE ON audit.events
      FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
    CREATE TRIGGER events_refuse_truncate
      BEFORE TRUNCATE ON audit.events
      FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

    -- ALWAYS: also fire when session_replication_role = replica, which would silently
    -- skip ordinary triggers.
    ALTER TABLE audit.events ENABLE ALWAYS TRIGGER events_refuse_update_delete;
    ALTER TABLE audit.events ENABLE ALWAYS TRIGGER events_refuse_truncate;
  `);
}

/** Dropping the audit log is never a migration step. */
export const down = false;
