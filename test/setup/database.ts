import net from 'node:net';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';

/**
 * Vitest global setup: tests use the PostgreSQL at TEST_DATABASE_URL, else the one on
 * 127.0.0.1:5432; when neither answers, an embedded PostgreSQL is started for the run, so
 * `npm test` works on a machine with no database installed.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env.TEST_DATABASE_URL) return undefined;
  if (await reachable('127.0.0.1', 5432)) return undefined;
  const pg = await startEmbeddedPostgres({ dataDir: path.resolve('data', 'test-pg'), port: 54339 });
  const url = new URL(pg.url);
  url.pathname = '/postgres';
  process.env.TEST_DATABASE_URL = url.toString();
  console.log(`no PostgreSQL on 127.0.0.1:5432: tests run on an embedded one (port ${pg.port})`);
  return pg.stop;
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
