import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The rema tree to run (REMA_BENCH_ROOT: another checkout, e.g. the code before a change, for a baseline). */
const ROOT = process.env.REMA_BENCH_ROOT ?? fileURLToPath(new URL('../../', import.meta.url));

export interface ServerProcess {
  url: string;
  pid: number;
  /** Where the server's stdout and stderr go. */
  logFile: string;
  stop(): Promise<void>;
}

export interface StartServerOptions {
  databaseUrl: string;
  mqttUrl: string;
  token: string;
  /** A folder for `node --cpu-prof` profiles of the server, written when it stops. */
  cpuProfDir?: string;
  /** More environment for the server (e.g. `REMA_SITE_CACHE_ENTITIES`, `REMA_NODE_OPTIONS`). */
  env?: Record<string, string>;
  /** The rema tree to run; default that of REMA_BENCH_ROOT, else this one. */
  root?: string;
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `bin/rema serve` as a process of its own (so its memory can be read from /proc), on a
 * free loopback port, and waits until `/readyz` answers 200.
 */
export async function startServer(opts: StartServerOptions): Promise<ServerProcess> {
  const root = opts.root ?? ROOT;
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rema-bench-'));
  const logFile = path.join(dataDir, 'server.log');
  const log = createWriteStream(logFile);
  const serveArgs = ['serve', '--port', String(port), '--host', '127.0.0.1'];
  const cpuProf = opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : [];
  // As operators start it: the launcher, which sizes the heap and execs node (same pid). A tree
  // without it (an older checkout, for a baseline) runs bin/rema.mjs.
  const launcher = existsSync(path.join(root, 'bin', 'rema'));
  const [command, args]: [string, string[]] = launcher ? ['sh', ['bin/rema', ...serveArgs]] : [process.execPath, [...cpuProf, 'bin/rema.mjs', ...serveArgs]];
  // node refuses --cpu-prof in NODE_OPTIONS; the launcher passes REMA_NODE_OPTIONS on its command
  // line instead of its defaults, so those are repeated here (keep them as bin/rema has them).
  const heap = opts.env?.REMA_NODE_OPTIONS ?? process.env.REMA_NODE_OPTIONS ?? '--max-old-space-size=512 --max-semi-space-size=8 --no-allocation-site-pretenuring';
  const nodeOptions = launcher && cpuProf.length ? { REMA_NODE_OPTIONS: [heap, ...cpuProf].filter(Boolean).join(' ') } : {};
  const child: ChildProcess = spawn(command, args, {
    cwd: root,
    // REMA_LOG empty: no request lines; warnings and errors go to the log file (a tree older than
    // the log levels reads it as "nothing", so a baseline may say less there).
    env: { ...process.env, ...opts.env, ...nodeOptions, DATABASE_URL: opts.databaseUrl, MQTT_URL: opts.mqttUrl, REMA_TOKEN: opts.token, REMA_DATA_DIR: dataDir, REMA_LOG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`rema serve exited with ${child.exitCode}; see ${logFile}:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`rema serve did not become ready within 60 s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    pid: child.pid as number,
    logFile,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Samples a process's resident memory every `everyMs` while running. The kernel's own peak
 * (VmHWM) is reset at the start (`clear_refs` 5) so it covers this window only; the larger of
 * it and the sampled maximum is the peak.
 */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private max = 0;
  constructor(
    private readonly pid: number,
    private readonly everyMs = 50,
  ) {}

  start(): this {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
    } catch {
      // not allowed here: the sampled maximum still holds
    }
    this.max = statusField(this.pid, 'VmRSS');
    this.timer = setInterval(() => {
      try {
        this.max = Math.max(this.max, statusField(this.pid, 'VmRSS'));
      } catch {
        // the process is gone
      }
    }, this.everyMs);
    this.timer.unref();
    return this;
  }

  /** Peak RSS in MB since `start`. */
  stop(): number {
    clearInterval(this.timer);
    let hwm = NaN;
    try {
      hwm = statusField(this.pid, 'VmHWM');
    } catch {
      // gone
    }
    return Math.max(this.max, Number.isFinite(hwm) ? hwm : 0);
  }
}

export const currentRssMb = (pid: number) => statusField(pid, 'VmRSS');
