/** Latency and throughput figures of one measured run. */
export interface RunStats {
  /** Operations that succeeded. */
  ok: number;
  /** Operations that failed (any non-success answer or exception). */
  errors: number;
  elapsedS: number;
  /** Successful operations per second. */
  rate: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** CPU ms each process spent per operation of the measured window (see LoopOptions.cpu). */
  cpuMsPerOp?: Record<string, number>;
  /** The database's counters per operation of the measured window (see LoopOptions.counters). */
  countersPerOp?: Record<string, number>;
}

/** The q-quantile (0–1) of ascending `sorted`, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Summarises latencies (ms) of the successful operations of a run that took `elapsedS`. */
export function summarize(latenciesMs: number[], errors: number, elapsedS: number): RunStats {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return {
    ok: sorted.length,
    errors,
    elapsedS,
    rate: sorted.length / Math.max(elapsedS, 1e-9),
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

/** A seeded, fast PRNG (mulberry32): the floor and rema get the same sequence of targets. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `items` shuffled with a seeded PRNG (Fisher–Yates), leaving `items` as it is. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const rnd = prng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * The mean of each figure over measured runs of one kind (counts and times summed, `max` the
 * largest): for figures taken in turns with another side's, so that neither side gets all of a
 * slow or a fast stretch of the machine.
 */
export function meanStats(runs: readonly RunStats[]): RunStats {
  if (runs.length === 0) throw new Error('meanStats: no runs');
  const mean = (f: (s: RunStats) => number) => runs.reduce((sum, s) => sum + f(s), 0) / runs.length;
  const meanOf = (pick: (s: RunStats) => Record<string, number> | undefined) => {
    const all = runs.map(pick);
    if (all.some((r) => r === undefined)) return undefined;
    const keys = Object.keys(all[0] as Record<string, number>);
    if (all.some((r) => Object.keys(r as Record<string, number>).length !== keys.length || keys.some((k) => !(k in (r as Record<string, number>))))) {
      throw new Error('meanStats: runs measured different figures');
    }
    return Object.fromEntries(keys.map((k) => [k, all.reduce((sum, r) => sum + (r as Record<string, number>)[k], 0) / all.length]));
  };
  return {
    ok: runs.reduce((sum, s) => sum + s.ok, 0),
    errors: runs.reduce((sum, s) => sum + s.errors, 0),
    elapsedS: runs.reduce((sum, s) => sum + s.elapsedS, 0),
    rate: mean((s) => s.rate),
    p50: mean((s) => s.p50),
    p95: mean((s) => s.p95),
    p99: mean((s) => s.p99),
    max: Math.max(...runs.map((s) => s.max)),
    cpuMsPerOp: meanOf((s) => s.cpuMsPerOp),
    countersPerOp: meanOf((s) => s.countersPerOp),
  };
}
