/**
 * rema run apart, as an operator would: `rema serve --only …` and `rema gateway` as child
 * processes on free ports, one shared PostgreSQL database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface RemaProcess {
  name: string;
  url: string;
  child: ChildProcess;
  /** Everything it printed, for the failure message. */
  output(): string;
}

/** Starts `node bin/rema.mjs <args>` with `env` on top of this process's environment. */
export function startRema(name: string, args: string[], port: number, env: Record<string, string>): RemaProcess {
  const child = spawn(process.execPath, ['bin/rema.mjs', ...args, '--port', String(port), '--host', '127.0.0.1'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  return { name, url: `http://127.0.0.1:${port}`, child, output: () => out };
}

/** Waits until `/readyz` of every process answers 200; fails with their output otherwise. */
export async function waitReady(processes: RemaProcess[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(processes);
  while (pending.size > 0) {
    for (const p of pending) {
      if (p.child.exitCode !== null) throw new Error(`${p.name} exited with ${p.child.exitCode}:\n${p.output()}`);
      const res = await fetch(`${p.url}/readyz`).catch(() => undefined);
      if (res?.ok) pending.delete(p);
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline) throw new Error(`not ready in time: ${[...pending].map((p) => `${p.name}:\n${p.output()}`).join('\n')}`);
    await sleep(100);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once every process has exited. */
export async function stopAll(processes: RemaProcess[], graceMs = 5000): Promise<void> {
  await Promise.all(
    processes.map(async (p) => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
      p.child.kill('SIGTERM');
      const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }),
  );
}
