import { readdirSync, readFileSync } from 'node:fs';
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

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const TICK_MS = 10;

/** CPU time (user + system, all threads) a process has used, in ms; NaN when it is gone. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "(comm) ": state is field 3 of stat(5), utime 14 and stime 15.
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return NaN;
  }
}

/** CPU time used so far by every process whose name is `comm` (all PostgreSQL processes, say), in ms. */
export function commandCpuMs(comm: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== comm) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) * TICK_MS;
    } catch {
      // gone between the listing and the read
    }
  }
  return total;
}

/**
 * What a measured run cost each process taking part, in CPU ms: the server (by pid), the
 * database (every `postgres` process) and this process (the load generator). Read at the start
 * and the end of the measured window.
 */
export function cpuMeter(serverPid?: number): () => Record<string, number> {
  return () => ({
    ...(serverPid === undefined ? {} : { rema: processCpuMs(serverPid) }),
    postgres: commandCpuMs('postgres'),
    client: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
  });
}
