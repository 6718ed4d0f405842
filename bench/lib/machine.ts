import { readFileSync } from 'node:fs';
import os from 'node:os';

/** The 1-minute load average, as `cat /proc/loadavg` shows it. */
export function loadavg1(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  kernel: string;
}

export function machineInfo(): MachineInfo {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
  };
}

/**
 * Waits (up to `maxWaitS`) until the 1-minute load average is at most `threshold`, so figures
 * are not taken while other work shares the machine. Returns the load it started with.
 */
export async function waitForLowLoad(threshold: number, maxWaitS: number, log: (msg: string) => void): Promise<number> {
  const deadline = Date.now() + maxWaitS * 1000;
  let load = loadavg1();
  if (load > threshold) log(`load average ${load.toFixed(2)} > ${threshold}: waiting up to ${maxWaitS} s for it to drop`);
  while (load > threshold && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5000));
    load = loadavg1();
  }
  return load;
}

/**
 * Writes PostgreSQL's dirty pages out (`CHECKPOINT`) before a measured run of writes, so each
 * run starts from the same state: none inherits the flush of a seed's gigabytes, and each pays
 * the full-page images of the pages it is first to touch after a checkpoint, instead of the run
 * measured first paying them for the one after it. Needs a superuser (or `pg_checkpoint`); when
 * refused the run goes on and says so once. Returns the seconds the checkpoint took.
 */
export async function checkpoint(pool: { query(text: string): Promise<unknown> }, log: (msg: string) => void): Promise<number> {
  const started = performance.now();
  try {
    await pool.query('CHECKPOINT');
  } catch (err) {
    if (!checkpointRefused) log(`CHECKPOINT refused (${(err as Error).message}); runs are measured without one`);
    checkpointRefused = true;
  }
  return (performance.now() - started) / 1000;
}
let checkpointRefused = false;
