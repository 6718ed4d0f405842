/**
 * The machine's PostgreSQL and Mosquitto, which the outage scenarios stop and start. Every
 * other user of them on this machine notices: the chaos suite runs alone in CI.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

function cluster(): string[] {
  const version = readdirSync('/etc/postgresql').sort()[0];
  return ['--skip-systemctl-redirect', version, 'main'];
}

/** True when something accepts TCP connections on host:port. */
export function listening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 1000 });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

async function pgReady(): Promise<boolean> {
  try {
    await run('pg_isready', ['-q', '-h', '127.0.0.1', '-p', '5432']);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** `pg_ctlcluster … stop` (fast: sessions are terminated, committed work is durable). */
export async function stopPostgres(): Promise<void> {
  await run('pg_ctlcluster', [...cluster(), 'stop', '--', '-m', 'fast']);
}

/** Starts PostgreSQL if it is not accepting connections, and waits until it does. */
export async function ensurePostgres(): Promise<void> {
  if (await pgReady()) return;
  await run('pg_ctlcluster', [...cluster(), 'start']).catch(() => undefined); // "already running" while it recovers
  await until('PostgreSQL to accept connections', pgReady, 60_000);
}

/** Starts Mosquitto (persistence on) if nothing listens on 1883, and waits until it does. */
export async function ensureMosquitto(): Promise<void> {
  if (await listening(1883)) return;
  await run('mosquitto', ['-d', '-c', '/etc/mosquitto/mosquitto.conf']);
  await until('Mosquitto to listen', () => listening(1883), 20_000);
}
