import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded.ts';

let root: string;
let dataDir: string;
// Away from the default 54329 so a developer's running server is not disturbed, and
// below Linux's ephemeral range (32768–60999) so an outgoing connection elsewhere in the
// run does not hold one of these ports at the moment a test expects it free.
const basePort = 24000 + Math.floor(Math.random() * 2000);
const running: EmbeddedPostgresHandle[] = [];

async function start(port = basePort): Promise<EmbeddedPostgresHandle> {
  const handle = await startEmbeddedPostgres({ dataDir, port, log: () => undefined });
  running.push(handle);
  return handle;
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'rema-embedded-'));
  // As root the server runs as `postgres`, which must be able to reach the data dir.
  await chmod(root, 0o755);
  dataDir = path.join(root, 'pg');
});
// A failed assertion must not leave a server on the data dir for the next test to trip on.
afterEach(async () => {
  for (const h of running.splice(0)) await h.stop();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('startEmbeddedPostgres', () => {
  it('initialises a cluster with a rema database and keeps data across restarts', async () => {
    const first = await start();
    expect(first.url).toMatch(new RegExp(`^postgres://postgres:[^@]+@127\\.0\\.0\\.1:${basePort}/rema$`));
    await sql(first.url, 'CREATE TABLE kept (v text); INSERT INTO kept VALUES ($$still here$$)');
    await first.stop();

    const second = await start();
    expect(second.url).toBe(first.url); // same saved password, same port
    expect(await sql(second.url, 'SELECT v FROM kept')).toEqual([{ v: 'still here' }]);
    await second.stop();
    const password = await readFile(path.join(root, '.pg-password'), 'utf8');
    expect(password.trim().length).toBeGreaterThanOrEqual(24);
  });

  it('refuses to start a second server on a data dir that is in use', async () => {
    const handle = await start();
    await expect(start(basePort + 5)).rejects.toThrow(/already running/);
    await handle.stop();
  });

  it('moves to the next port when the first is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(basePort, '127.0.0.1', resolve));
    try {
      const handle = await start();
      // The next free one: usually basePort + 1, unless something else holds that too.
      expect(handle.port).toBeGreaterThan(basePort);
      expect(handle.port).toBeLessThan(basePort + 10);
      expect(await sql(handle.url, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
      await handle.stop();
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('starts over a postmaster.pid left by a killed run, whose pid is now dead or reused', async () => {
    const dead = spawn('true');
    await new Promise((resolve) => dead.on('exit', resolve));
    const unrelated = spawn('sleep', ['30']);
    try {
      for (const pid of [dead.pid, unrelated.pid]) {
        await writeFile(path.join(dataDir, 'postmaster.pid'), `${pid}\n${dataDir}\n1700000000\n${basePort}\n\n127.0.0.1\n  1234  5678\nready\n`);
        const handle = await start();
        expect(await sql(handle.url, 'SELECT v FROM kept')).toEqual([{ v: 'still here' }]);
        await handle.stop();
      }
    } finally {
      unrelated.kill();
    }
  });

  it('explains a failed start instead of rejecting with nothing', async () => {
    await writeFile(path.join(dataDir, 'postgresql.auto.conf'), 'shared_buffers = nonsense\n');
    try {
      await expect(start()).rejects.toThrow(/failed to start[\s\S]*shared_buffers/);
    } finally {
      await writeFile(path.join(dataDir, 'postgresql.auto.conf'), '');
    }
  });
});
