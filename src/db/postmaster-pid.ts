import { readFile, readdir, readlink, unlink } from 'node:fs/promises';
import path from 'node:path';

/** What a `postmaster.pid` lock file says about the data directory. */
export type PostmasterState =
  | { kind: 'none' }
  | { kind: 'running'; pid: number; port: number | null }
  | { kind: 'removed-stale'; pid: number };

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Linux only: pids whose working directory is `dir` (PostgreSQL chdirs to its data dir). */
async function pidsWithCwd(dir: string): Promise<number[]> {
  if (process.platform !== 'linux') return [];
  const found: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => null);
    if (cwd === dir) found.push(Number(entry));
  }
  return found;
}

/**
 * Checks `dataDir/postmaster.pid` before starting PostgreSQL on it.
 *
 * A killed previous run leaves the file behind; PostgreSQL then refuses to start when the
 * recorded pid has been reused by an unrelated process (common in containers). The file
 * is removed when its pid is dead, or alive but not a server on this directory. It is kept
 * — and `running` returned — while any process still works in the directory: a live
 * postmaster, or orphaned backends of a killed one, which must not share the files with
 * a second server.
 */
export async function clearStalePostmasterPid(dataDir: string): Promise<PostmasterState> {
  const file = path.join(dataDir, 'postmaster.pid');
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) return { kind: 'none' };
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  const users = await pidsWithCwd(dataDir);
  const postmasterAlive = Number.isInteger(pid) && pid > 0 && isAlive(pid);
  if (users.length > 0 || (postmasterAlive && process.platform !== 'linux')) {
    return { kind: 'running', pid: users.includes(pid) || users.length === 0 ? pid : users[0], port: Number.isInteger(port) ? port : null };
  }
  await unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  return { kind: 'removed-stale', pid };
}
