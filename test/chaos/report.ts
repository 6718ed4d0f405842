import type { RunnerTestCase as Test } from 'vitest';

/** One line of the chaos table: what a scenario tried and what held, with its figures. */
export interface ChaosLine {
  scenario: string;
  tried: string;
  held: string;
}

declare module 'vitest' {
  interface TaskMeta {
    chaos?: ChaosLine;
  }
}

/** Attaches the scenario's line to the test (the chaos reporter prints the table) and logs it. */
export function report(task: Test, line: ChaosLine): void {
  task.meta.chaos = line;
  console.log(`[chaos] ${line.scenario}: tried ${line.tried}; held: ${line.held}`);
}

/** `{ 200: 3, 409: 1 }` as `200×3, 409×1`. */
export function counts(tally: Record<string, number>): string {
  return Object.entries(tally)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}×${v}`)
    .join(', ');
}
