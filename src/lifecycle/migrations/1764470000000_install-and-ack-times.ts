import type { MigrationBuilder } from 'node-pg-migrate';

/**
 * When a device entered its asset's slot, and when a deployment target was acknowledged.
 * Commissioning needs the asset's configuration acknowledged since the device was installed:
 * after a replacement (or an install into a slot another device held), the acknowledgement and
 * the reported state the previous device left say nothing about the new one.
 *
 * `devices.installed_at`: set when a device becomes `installed` (install, replacement), cleared
 * when it leaves its asset. Devices already at an asset get the time of their last change — no
 * earlier than their install, so a device installed before this migration whose configuration
 * was acknowledged before that change needs it deployed once more before it is commissioned.
 * `deployment_targets.acked_at`: when the gateway acknowledged the target, in time or late;
 * a late acknowledgement before this migration is read from the note it left in `error`.
 * `tracked_slots`: assets a device has been installed at. A device under a gateway is activated
 * only while the gateway's device is active; a gateway asset no device was ever installed at is
 * one whose device is not tracked and does not block, but one whose device left does.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    ALTER TABLE lifecycle.devices ADD COLUMN installed_at timestamptz;
    UPDATE lifecycle.devices SET installed_at = updated_at WHERE asset_id IS NOT NULL;
    ALTER TABLE lifecycle.deployment_targets ADD COLUMN acked_at timestamptz;
    UPDATE lifecycle.deployment_targets SET acked_at = finished_at WHERE status = 'acked';
    UPDATE lifecycle.deployment_targets
       SET acked_at = substring(error FROM 'acknowledged late, at ([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)')::timestamptz
     WHERE status IN ('timed_out', 'cancelled') AND error ~ 'acknowledged late, at [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z';
    CREATE TABLE lifecycle.tracked_slots (asset_id uuid PRIMARY KEY, since timestamptz NOT NULL DEFAULT now());
    INSERT INTO lifecycle.tracked_slots (asset_id, since)
      SELECT asset_id, min(updated_at) FROM lifecycle.devices WHERE asset_id IS NOT NULL GROUP BY asset_id;
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    DROP TABLE lifecycle.tracked_slots;
    ALTER TABLE lifecycle.deployment_targets DROP COLUMN acked_at;
    ALTER TABLE lifecycle.devices DROP COLUMN installed_at;
  `);
}
