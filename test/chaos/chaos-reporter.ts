import type { Reporter, TestModule } from 'vitest/node';
import type { ChaosLine } from './report.ts';

/**
 * Ends a chaos run with the table of docs/reliability.md: per scenario what was tried, what
 * held, and the figures measured — one line per test that recorded one (`report()`).
 */
export default class ChaosReporter implements Reporter {
  private started = Date.now();

  onTestRunStart(): void {
    this.started = Date.now();
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const lines: Array<ChaosLine & { state: string }> = [];
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const line = (t.meta() as { chaos?: ChaosLine }).chaos;
        if (line) lines.push({ ...line, state: t.result().state });
      }
    }
    if (lines.length === 0) return;
    console.log('\nchaos run: what was tried and what held');
    console.log('| scenario | tried | held | result |');
    console.log('|---|---|---|---|');
    for (const l of lines) console.log(`| ${l.scenario} | ${l.tried} | ${l.held} | ${l.state === 'passed' ? 'held' : l.state.toUpperCase()} |`);
    console.log(`\nchaos run took ${Math.round((Date.now() - this.started) / 1000)} s`);
  }
}
