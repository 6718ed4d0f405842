/**
 * What the console's end-to-end test drives: rema started exactly as the README says
 * (`npm start` with PORT and REMA_DATA_DIR, embedded PostgreSQL and MQTT broker), its printed
 * credentials, the REST API for seeding, and a headless Debian Chromium via playwright-core.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
export const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface StartedRema {
  url: string;
  token: string;
  admin: { email: string; password: string };
  mqttUrl: string;
  output: () => string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** `npm start` in a fresh, world-traversable data directory; resolves once it listens. */
export async function startRema(): Promise<StartedRema> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rema-console-e2e-'));
  chmodSync(dir, 0o755); // the embedded PostgreSQL runs as user postgres and must reach its data
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), REMA_DATA_DIR: path.join(dir, 'rema') };
  for (const k of ['DATABASE_URL', 'MQTT_URL', 'REMA_TOKEN', 'REMA_ADMIN_PASSWORD', 'REMA_LOG']) delete env[k];
  const child: ChildProcess = spawn('npm', ['start'], { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.pid) {
      process.kill(-child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 120_000;
  while (!/rema is listening on/.test(out)) {
    if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}):\n${out}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`rema did not start within 120 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pick = (re: RegExp) => {
    const m = re.exec(out);
    if (!m) throw new Error(`start-up output lacks ${re}:\n${out}`);
    return m;
  };
  const admin = pick(/^admin:\s+(\S+) \/ (\S+)/m);
  return {
    url: pick(/rema is listening on (\S+)/)[1],
    token: pick(/^API token: (\S+)/m)[1],
    admin: { email: admin[1], password: admin[2] },
    mqttUrl: pick(/^MQTT:\s+(mqtt:\/\/\S+)/m)[1],
    output: () => out,
    stop,
  };
}

/** Runs a rema CLI command (seed, …) against the started server; resolves with its output. */
export function remaCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'rema.mjs'), ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`rema ${args.join(' ')} exited ${code}:\n${out}`))));
  });
}

/** A JSON API client with the operator token. */
export function apiOf(rema: StartedRema, token = rema.token) {
  return async <T = unknown>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(new URL(p, rema.url), {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  };
}

/** A fresh headless Chromium profile. */
export async function openBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'rema-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1400, height: 900 } });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
