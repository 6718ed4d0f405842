import { loadavg1, type MachineInfo } from './machine.ts';
import type { RunStats } from './stats.ts';

/** One measured run on one line: rate, latencies, counts, the load it ran at and its CPU per operation. */
export const formatStats = (s: RunStats) =>
  `${s.rate.toFixed(0)}/s, p50 ${s.p50.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms (${s.ok} ok, ${s.errors} errors, load ${loadavg1().toFixed(2)})${
    s.cpuMsPerOp ? `; CPU ms/op: ${Object.entries(s.cpuMsPerOp).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}` : ''
  }`;

export interface Goal {
  min?: number;
  max?: number;
}

/** One figure of the results table. */
export interface Row {
  /** Stable key, e.g. `writes.c16.rate`: how baseline and latest runs are matched. */
  key: string;
  /** Number of the measurement in the issue (1–8). */
  id: string;
  scenario: string;
  metric: string;
  value: number;
  /** The database floor measured in the same run, where there is one. */
  floor?: number;
  /** The same figure before the performance work (bench/results/baseline.json). */
  baseline?: number;
  goal?: Goal;
  /** 1-minute load average when the figure was taken. */
  load: number;
}

const num = (x: number | null | undefined) => {
  if (x === undefined) return '';
  if (x === null || Number.isNaN(x)) return '—';
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString('en');
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
};

export const goalText = (g: Goal | undefined) => (!g ? '' : g.min !== undefined ? `≥ ${num(g.min)}` : `≤ ${num(g.max)}`);

export function meetsGoal(value: number, goal: Goal | undefined): string {
  if (!goal) return '';
  const ok = Number.isFinite(value) && (goal.min === undefined || value >= goal.min) && (goal.max === undefined || value <= goal.max);
  return ok ? 'yes' : 'NO';
}

/** Prints the results as a fixed-width table on stdout. */
export function printTable(rows: Row[], machine: MachineInfo, postgres: string, quick: boolean) {
  const head = ['#', 'scenario', 'metric', 'rema', 'floor', 'baseline', 'goal', 'met', 'load'];
  const body = rows.map((r) => [r.id, r.scenario, r.metric, num(r.value), num(r.floor), num(r.baseline), goalText(r.goal), meetsGoal(r.value, r.goal), r.load.toFixed(2)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  console.log(`\nrema benchmarks${quick ? ' (--quick: smoke sizes, figures mean nothing)' : ''} — ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, PostgreSQL ${postgres}`);
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
  console.log('floor: the same write transaction issued straight through pg at the same concurrency; baseline: bench/results/baseline.json; load: 1-minute load average');
}

/** The results as a Markdown table, as docs/benchmarks.md shows them. */
export function markdownTable(rows: Row[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const lines = ['| # | scenario | metric | rema | floor | baseline | goal | met | load |', '|---|---|---|--:|--:|--:|--:|:-:|--:|'];
  for (const r of rows) {
    lines.push(`| ${r.id} | ${cell(r.scenario)} | ${cell(r.metric)} | ${num(r.value)} | ${num(r.floor)} | ${num(r.baseline)} | ${goalText(r.goal)} | ${meetsGoal(r.value, r.goal)} | ${r.load.toFixed(2)} |`);
  }
  return `${lines.join('\n')}\n`;
}
