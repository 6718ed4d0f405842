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
