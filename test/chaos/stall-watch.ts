/**
 * Who stalled? A request that gets no answer for 20 s may be a server that hangs — or a client,
 * or a whole machine, that did not run. Three watches tell them apart: the test process's own
 * timer (a blocked client), a separate small process's timer (a machine that stopped running
 * anything) and, per server, `/healthz` asked every 250 ms (a server that stopped answering).
 * Each records the gaps longer than `minGapMs`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';

export interface Gap {
  /** Wall-clock start and end of the gap (ms since the epoch). */
  from: number;
  to: number;
}

export interface StallWatch {
  /** Gaps of the test process's own event loop. */
  client(): Gap[];
  /** Gaps of a separate process that does nothing else. */
  machine(): Gap[];
  /** Per server: times `/healthz` took longer than `minGapMs` to answer (or did not answer). */
  servers(): Record<string, Gap[]>;
  /** Stops watching; a probe still unanswered by then counts as a gap up to now. */
  stop(): Promise<void>;
}

const TICK_MS = 100;

export function watchStalls(targets: ReadonlyArray<{ name: string; url: string }> = [], minGapMs = 2000): StallWatch {
  const client: Gap[] = [];
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    if (now - last >= minGapMs) client.push({ from: last, to: now });
    last = now;
  }, TICK_MS);
  timer.unref();

  const machine: Gap[] = [];
  const script = `let last = Date.now(); setInterval(() => { const now = Date.now(); if (now - last >= ${minGapMs}) console.log(last + ' ' + now); last = now; }, ${TICK_MS});`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [from, to] = line.split(' ').map(Number);
      if (Number.isFinite(from) && Number.isFinite(to)) machine.push({ from, to });
    });
  }
  child.unref();

  const servers: Record<string, Gap[]> = {};
  const stopping = new AbortController();
  const agent = new Agent({ connections: 1 });
  const probe = async (t: { name: string; url: string }) => {
    servers[t.name] = [];
    while (!stopping.signal.aborted) {
      const from = Date.now();
      await request(`${t.url}/healthz`, { dispatcher: agent, signal: stopping.signal, headersTimeout: 60_000, bodyTimeout: 60_000 })
        .then((res) => res.body.dump())
        .catch(() => undefined);
      // Cut off by stop() while still waiting: a stall that has not ended yet counts up to now.
      const to = Date.now();
      if (to - from >= minGapMs) servers[t.name].push({ from, to });
      await sleep(250, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  };
  const probes = targets.map(probe);
  return {
    client: () => client,
    machine: () => machine,
    servers: () => servers,
    async stop() {
      stopping.abort();
      clearInterval(timer);
      child.kill();
      await Promise.all(probes);
      await agent.close();
    },
  };
}

/** Whether a gap overlaps the window `[t0, t1]`. */
export const overlaps = (g: Gap, t0: number, t1: number) => g.from < t1 && g.to > t0;

/** `3.2 s at +41.0 s` for each gap, relative to `start`. */
export const describeGaps = (gaps: Gap[], start: number) => gaps.map((g) => `${((g.to - g.from) / 1000).toFixed(1)} s at +${((g.from - start) / 1000).toFixed(1)} s`).join(', ') || 'none';
