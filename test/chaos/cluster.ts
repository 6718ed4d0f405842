/**
 * rema as an operator runs it: several `node bin/rema.mjs serve` processes on one fresh
 * PostgreSQL database and the machine's Mosquitto, each on its own free port and data folder,
 * all with the same full-rights token. Instances can be killed (`kill -9`) and started again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '../../src/db/test-database.ts';
import { freePort } from '../split/processes.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MQTT_URL = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
/** The full-rights API token every instance makes sure exists (`REMA_TOKEN`). */
export const CHAOS_TOKEN = 'rema-chaos-operator-token';

/** One `rema serve` process; `restart` starts a new process on the same port and data folder. */
export class Instance {
  child: ChildProcess | undefined;
  /** False from the moment it is killed until a restarted process answers `/readyz`. */
  up = false;
  kills = 0;
  private out = '';

  constructor(
    readonly name: string,
    readonly port: number,
    readonly dataDir: string,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Everything the process printed (its warnings and errors, and the last 20 kB), for failure messages. */
  output(): string {
    return `${this.warnings.join('\n')}\n${this.out.slice(-20_000)}`;
  }

  private readonly warnings: string[] = [];

  start(): void {
    const child = spawn(process.execPath, ['bin/rema.mjs', 'serve', '--port', String(this.port), '--host', '127.0.0.1'], {
      cwd: ROOT,
      env: { ...process.env, ...this.env, REMA_DATA_DIR: this.dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d) => {
      this.out = (this.out + d).slice(-100_000);
      // Warnings and errors are logged whatever REMA_LOG says; kept apart so a failure shows them.
      for (const line of String(d).split('\n')) if (/"level":(40|50)/.test(line) && this.warnings.length < 200) this.warnings.push(line);
    });
    child.stderr?.on('data', (d) => (this.out += d));
    this.child = child;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once `/readyz` answers 200; fails with the output if the process exits or it takes too long. */
  async waitReady(timeoutMs = 150_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited (${this.child?.exitCode ?? this.child?.signalCode}):\n${this.output()}`);
      const res = await fetch(`${this.url}/readyz`).catch(() => undefined);
      if (res?.ok) {
        this.up = true;
        return;
      }
      if (Date.now() > deadline) throw new Error(`${this.name} not ready after ${timeoutMs} ms:\n${this.output()}`);
      await sleep(100);
    }
  }

  /** `kill -9`: no shutdown hook runs, open transactions and MQTT sessions are cut off. */
  async kill9(): Promise<void> {
    this.up = false;
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    this.kills++;
    await exited;
  }

  async restart(): Promise<void> {
    await this.kill9();
    this.out += `\n--- restarted after kill ${this.kills} ---\n`;
    this.start();
    await this.waitReady();
  }

  /** SIGTERM (a clean stop), SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    this.up = false;
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

export interface Cluster {
  db: TestDatabase;
  instances: Instance[];
  /** The instances answering now. */
  up(): Instance[];
  stop(): Promise<void>;
}

export interface ClusterOptions {
  instances?: number;
  /** Connections per instance (`PG_POOL_SIZE`): three instances must fit beside other users of the server. */
  poolSize?: number;
  mqtt?: boolean;
  env?: Record<string, string>;
}

/**
 * A fresh database and `instances` rema processes on it. The first one starts alone (it
 * migrates and bootstraps the platform organisation), the others together once it is ready.
 *
 * @example
 *   const cluster = await startCluster({ instances: 3 });
 *   try { … } finally { await cluster.stop(); }
 */
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const db = await createTestDatabase();
  const instances: Instance[] = [];
  const dirs: string[] = [];
  const cluster: Cluster = {
    db,
    instances,
    up: () => instances.filter((i) => i.up),
    async stop() {
      await Promise.all(instances.map((i) => i.stop()));
      await db.drop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < (opts.instances ?? 3); i++) {
      const dir = mkdtempSync(path.join(tmpdir(), `rema-chaos-${i + 1}-`));
      chmodSync(dir, 0o755);
      dirs.push(dir);
      const env: Record<string, string> = {
        DATABASE_URL: db.url,
        REMA_TOKEN: CHAOS_TOKEN,
        PG_POOL_SIZE: String(opts.poolSize ?? 10),
        REMA_ADMIN_PASSWORD: 'chaos-admin-password',
        ...(process.env.CHAOS_DEBUG ? { REMA_LOG: '1' } : {}),
        ...(opts.mqtt === false ? {} : { MQTT_URL }),
        ...opts.env,
      };
      instances.push(new Instance(`rema-${i + 1}`, await freePort(), dir, env));
    }
    instances[0].start();
    await instances[0].waitReady();
    for (const i of instances.slice(1)) i.start();
    await Promise.all(instances.slice(1).map((i) => i.waitReady()));
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
