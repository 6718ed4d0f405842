import { performance } from 'node:perf_hooks';
import { summarize, type RunStats } from './stats.ts';

export interface LoopOptions {
  /** Workers, each with one operation in flight at a time. */
  concurrency: number;
  /** Measured time; the run stops at this or at `maxOps`, whichever comes first. */
  durationMs: number;
  /** Upper bound on measured operations (all workers together). */
  maxOps: number;
  /** Unmeasured operations before the clock starts (caches, connections, JIT). */
  warmupMs?: number;
  /** Reads CPU times (ms) of the processes taking part; read at the start and end of the measured window. */
  cpu?: () => Record<string, number>;
  /** Reads counters of the database (WAL written, blocks read); read at the start and end of the measured window. */
  counters?: () => Promise<Record<string, number>>;
}

/**
 * Runs `op(worker)` in a closed loop on `concurrency` workers and returns throughput and
 * latency of the operations that succeeded (`op` resolves true) inside the measured window.
 * Bounded in time and in count: it always stops by itself.
 */
export async function closedLoop(opts: LoopOptions, op: (worker: number) => Promise<boolean>): Promise<RunStats> {
  const warmupEnd = performance.now() + (opts.warmupMs ?? 0);
  while (performance.now() < warmupEnd) {
    await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => op(w).catch(() => false)));
  }
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  const countersAtStart = await opts.counters?.();
  const cpuAtStart = opts.cpu?.();
  const started = performance.now();
  const deadline = started + opts.durationMs;
  const worker = async (w: number) => {
    while (issued < opts.maxOps && performance.now() < deadline) {
      issued++;
      const t0 = performance.now();
      let ok = false;
      try {
        ok = await op(w);
      } catch {
        ok = false;
      }
      if (ok) latencies.push(performance.now() - t0);
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => worker(w)));
  const stats = summarize(latencies, errors, (performance.now() - started) / 1000);
  const ops = Math.max(1, latencies.length + errors);
  const perOp = (start: Record<string, number>, end: Record<string, number>) =>
    Object.fromEntries(Object.entries(end).map(([k, v]) => [k, (v - (start[k] ?? NaN)) / ops]));
  if (cpuAtStart && opts.cpu) stats.cpuMsPerOp = perOp(cpuAtStart, opts.cpu());
  if (countersAtStart && opts.counters) stats.countersPerOp = perOp(countersAtStart, await opts.counters());
  return stats;
}
