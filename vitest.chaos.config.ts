import { defineConfig } from 'vitest/config';

/**
 * The fault and abuse suite (`npm run test:chaos`): real rema processes on a fresh database,
 * killed, starved of PostgreSQL and the broker, fed hostile input. Kept out of `npm test`: it
 * restarts the machine's PostgreSQL and Mosquitto. Files run one after another.
 * CHAOS_SECONDS scales the load of each scenario, CHAOS_REQUESTS the hostile requests.
 */
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.chaos.ts'],
    globalSetup: ['test/chaos/chaos-setup.ts'],
    reporters: ['default', './test/chaos/chaos-reporter.ts'],
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 360_000,
    pool: 'forks',
  },
});
