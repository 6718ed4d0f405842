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
 * `deployment_targets.acked_at`: when the gateway acknowledged the target, in time or late.
 */
export async function up(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    ALTER TABLE lifecycle.devices ADD COLUMN installed_at timestamptz;
    UPDATE lifecycle.devices SET installed_at = updated_at WHERE asset_id IS NOT NULL;
    ALTER TABLE lifecycle.deployment_targets ADD COLUMN acked_at timestamptz;
    UPDATE lifecycle.deployment_targets SET acked_at = finished_at WHERE status = 'acked';
  `);
}

export async function down(pgm: MigrationBuilder): Promise<void> {
  pgm.sql(`
    ALTER TABLE lifecycle.deployment_targets DROP COLUMN acked_at;
    ALTER TABLE lifecycle.devices DROP COLUMN installed_at;
  `);
}
