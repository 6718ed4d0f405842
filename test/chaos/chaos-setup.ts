import { ensureMosquitto, ensurePostgres } from './services.ts';

/**
 * Global setup of the chaos suite: PostgreSQL on 127.0.0.1:5432 and Mosquitto on 1883 must be
 * up before, and are brought back after — also when a scenario failed half-way through an outage.
 */
export default async function setup(): Promise<() => Promise<void>> {
  await ensurePostgres();
  await ensureMosquitto();
  return async () => {
    await ensurePostgres();
    await ensureMosquitto();
  };
}
