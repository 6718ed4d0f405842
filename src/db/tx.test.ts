import net from 'node:net';
import { once } from 'node:events';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPool } from './pool.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import {
  CommitOutcomeUnknown,
  CommittedDespiteError,
  committedAfterLoss,
  serverPid,
  isCheckViolation,
  isConnectionError,
  isForeignKeyViolation,
  isUniqueViolation,
  runAlone,
  sqlState,
  withTransaction,
} from './tx.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`
    CREATE TABLE parent (id int PRIMARY KEY, n int NOT NULL DEFAULT 0 CHECK (n >= 0));
    CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent(id));
    CREATE TABLE late_child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);
  `);
});
afterAll(() => db?.drop());
beforeEach(async () => {
  await db.pool.query('TRUNCATE late_child, child, parent; INSERT INTO parent (id) VALUES (1), (2)');
});

/** Resolves once `count` callers have arrived, so racing transactions really overlap. */
function barrier(count: number): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return () => {
    if (++arrived === count) release();
    return all;
  };
}

const retryable = (code: string) => Object.assign(new Error(`simulated ${code}`), { code });

describe('withTransaction', () => {
  it('commits what fn wrote and returns its result', async () => {
    const result = await withTransaction(db.pool, async (c) => {
      await c.query('UPDATE parent SET n = 5 WHERE id = 1');
      return 'done';
    });
    expect(result).toBe('done');
    expect((await db.pool.query('SELECT n FROM parent WHERE id = 1')).rows[0].n).toBe(5);
  });

  it('rolls back everything when fn throws, and rethrows', async () => {
    await expect(
      withTransaction(db.pool, async (c) => {
        await c.query('UPDATE parent SET n = 5 WHERE id = 1');
        throw new Error('rule violated');
      }),
    ).rejects.toThrow('rule violated');
    expect((await db.pool.query('SELECT n FROM parent WHERE id = 1')).rows[0].n).toBe(0);
  });

  it('runs at the requested isolation level', async () => {
    const level = await withTransaction(db.pool, async (c) => (await c.query('SHOW transaction_isolation')).rows[0].transaction_isolation, {
      isolation: 'serializable',
    });
    expect(level).toBe('serializable');
  });

  it.each(['40001', '40P01'])('re-runs the whole transaction after %s', async (code) => {
    let attempts = 0;
    const result = await withTransaction(db.pool, async (c) => {
      attempts++;
      await c.query('UPDATE parent SET n = n + 1 WHERE id = 1');
      if (attempts < 3) throw retryable(code);
      return attempts;
    });
    expect(result).toBe(3);
    // The failed attempts' writes were rolled back: only one increment survives.
    expect((await db.pool.query('SELECT n FROM parent WHERE id = 1')).rows[0].n).toBe(1);
  });

  it('gives up after the configured retries and rethrows the last error', async () => {
    let attempts = 0;
    const run = withTransaction(db.pool, async () => {
      attempts++;
      throw retryable('40001');
    }, { retries: 2 });
    await expect(run).rejects.toMatchObject({ code: '40001' });
    expect(attempts).toBe(3);
  });

  it('does not retry other errors', async () => {
    let attempts = 0;
    await expect(withTransaction(db.pool, async (c) => {
      attempts++;
      await c.query('INSERT INTO parent (id) VALUES (1)');
    })).rejects.toSatisfy(isUniqueViolation);
    expect(attempts).toBe(1);
  });

  it('resolves a real serialization conflict between two writers by retrying one', async () => {
    const meet = barrier(2);
    let attempts = 0;
    const bump = () =>
      withTransaction(db.pool, async (c) => {
        attempts++;
        const { rows } = await c.query<{ n: number }>('SELECT sum(n)::int AS n FROM parent');
        await meet();
        await c.query('UPDATE parent SET n = $1 + 1 WHERE id = 1', [rows[0].n]);
      }, { isolation: 'serializable' });
    await Promise.all([bump(), bump()]);
    expect(attempts).toBe(3);
    expect((await db.pool.query('SELECT n FROM parent WHERE id = 1')).rows[0].n).toBe(2);
  });

  it('resolves a real deadlock by retrying the victim', async () => {
    const meet = barrier(2);
    let attempts = 0;
    const lockBoth = (first: number, second: number) =>
      withTransaction(db.pool, async (c) => {
        attempts++;
        await c.query('UPDATE parent SET n = n + 1 WHERE id = $1', [first]);
        if (attempts <= 2) await meet();
        await c.query('UPDATE parent SET n = n + 1 WHERE id = $1', [second]);
      });
    await Promise.all([lockBoth(1, 2), lockBoth(2, 1)]);
    expect(attempts).toBe(3);
    const { rows } = await db.pool.query('SELECT n FROM parent ORDER BY id');
    expect(rows.map((r) => r.n)).toEqual([2, 2]);
  });
});

describe('withTransaction on a pipelining pool', () => {
  const parentN = async (id: number) => (await db.pool.query<{ n: number }>('SELECT n FROM parent WHERE id = $1', [id])).rows[0].n;

  /** Socket writes made while `run` runs (a corked pair leaves in one). */
  async function socketWrites<T>(run: () => Promise<T>): Promise<{ result: T; writes: number }> {
    const proto = net.Socket.prototype as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
    const original = { _write: proto._write, _writev: proto._writev };
    let writes = 0;
    for (const k of ['_write', '_writev'] as const) {
      proto[k] = function (this: unknown, ...args: unknown[]) {
        writes++;
        return original[k].apply(this, args);
      };
    }
    try {
      return { result: await run(), writes };
    } finally {
      Object.assign(proto, original);
    }
  }

  it('with pipelineBegin, writes BEGIN and the first statement at once, and that statement is inside the transaction', async () => {
    expect(db.pool.options).toMatchObject({ pipeline: true });
    await withTransaction(db.pool, (c) => c.query('SELECT 1')); // a connection in the pool, so none is opened below
    const { result, writes } = await socketWrites(() =>
      withTransaction(
        db.pool,
        async (c, tx) => {
          const a = (await c.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x')).rows[0].x;
          const b = (await tx.commitWith<{ x: string }>({ text: 'SELECT pg_current_xact_id()::text AS x', values: [] })).rows[0].x;
          return [a, b];
        },
        { pipelineBegin: true },
      ),
    );
    // Outside a transaction block each statement would get a transaction id of its own.
    expect(result[0]).toBe(result[1]);
    expect(writes).toBe(2); // BEGIN + first statement, last statement + COMMIT
  });

  it('without pipelineBegin, waits for BEGIN before running fn', async () => {
    const { writes } = await socketWrites(() => withTransaction(db.pool, async (c) => void (await c.query('SELECT 1'))));
    expect(writes).toBe(3); // BEGIN, the statement, COMMIT
  });

  it.each([false, true])('runs nothing of fn outside a transaction when BEGIN is refused (pipelineBegin: %s)', async (pipelineBegin) => {
    const run = withTransaction(
      db.pool,
      async (c) => {
        await c.query('SELECT 1'); // with pipelineBegin, written with BEGIN: it runs on its own
        await c.query('UPDATE parent SET n = 7 WHERE id = 1');
      },
      { isolation: 'no such level' as never, pipelineBegin },
    );
    await expect(run).rejects.toMatchObject({ code: '42601' }); // BEGIN's own error, not what followed it
    expect(await parentN(1)).toBe(0);
    await expectIdleConnections();
  });

  it('commitWith commits the statement with everything before it and returns its result', async () => {
    const out = await withTransaction(db.pool, async (c, tx) => {
      await c.query('UPDATE parent SET n = 3 WHERE id = 1');
      return (await tx.commitWith<{ n: number }>({ text: 'UPDATE parent SET n = 4 WHERE id = 2 RETURNING n', values: [] })).rows[0].n;
    });
    expect(out).toBe(4);
    expect([await parentN(1), await parentN(2)]).toEqual([3, 4]);
  });

  it('commitWith keeps nothing when its statement fails, throws that failure, and leaves the connection usable', async () => {
    await expect(
      withTransaction(db.pool, async (c, tx) => {
        await c.query('UPDATE parent SET n = 3 WHERE id = 1');
        await tx.commitWith({ text: 'UPDATE parent SET n = -1 WHERE id = 2', values: [] });
      }),
    ).rejects.toSatisfy(isCheckViolation);
    expect([await parentN(1), await parentN(2)]).toEqual([0, 0]);
    await expectIdleConnections();
  });

  /** Every connection the pool holds is idle, none handed back inside a transaction. */
  async function expectIdleConnections() {
    const clients = await Promise.all(Array.from({ length: db.pool.totalCount }, () => db.pool.connect()));
    try {
      expect(clients.map((c) => c.getTransactionStatus())).toEqual(clients.map(() => 'I'));
    } finally {
      for (const c of clients) c.release();
    }
  }

  it('refuses values the driver could fail to encode, before sending anything', async () => {
    await expect(
      withTransaction(db.pool, async (c, tx) => {
        await c.query('UPDATE parent SET n = 3 WHERE id = 1');
        await tx.commitWith({ text: 'UPDATE parent SET n = $1 WHERE id = 2', values: [{ toPostgres: () => '4' } as never] });
      }),
    ).rejects.toThrow('only strings, finite numbers');
    expect([await parentN(1), await parentN(2)]).toEqual([0, 0]);
    await expectIdleConnections();
  });

  it('says so when the driver refused the last statement and COMMIT committed the rest', async () => {
    const run = withTransaction(db.pool, async (c, tx) => {
      await c.query({ name: 'tx_test_clash', text: 'UPDATE parent SET n = 3 WHERE id = 1', values: [] });
      // Another text under the same name: node-postgres refuses it without sending it.
      await tx.commitWith({ name: 'tx_test_clash', text: 'UPDATE parent SET n = 4 WHERE id = 2', values: [] });
    });
    await expect(run).rejects.toBeInstanceOf(CommittedDespiteError);
    expect([await parentN(1), await parentN(2)]).toEqual([3, 0]);
    await expectIdleConnections();
  });

  it('says so when fn fails while its commitWith commits', async () => {
    const run = withTransaction(db.pool, async (_c, tx) => {
      await Promise.all([tx.commitWith({ text: 'UPDATE parent SET n = 5 WHERE id = 1', values: [] }), Promise.reject(new Error('a sibling failed'))]);
    });
    await expect(run).rejects.toThrow(/committed although its body failed: a sibling failed/);
    expect(await parentN(1)).toBe(5);
    await expectIdleConnections();
  });

  it('does not report success when fn swallowed the failure of its commitWith', async () => {
    await expect(
      withTransaction(db.pool, async (c, tx) => {
        await c.query('UPDATE parent SET n = 3 WHERE id = 1');
        await tx.commitWith({ text: 'UPDATE parent SET n = -1 WHERE id = 2', values: [] }).catch(() => {});
        return 'looks fine';
      }),
    ).rejects.toSatisfy(isCheckViolation);
    expect(await parentN(1)).toBe(0);
    await expectIdleConnections();
  });

  it('does not report success for a transaction that ended in a rollback (an error fn swallowed)', async () => {
    await expect(
      withTransaction(db.pool, async (c) => {
        await c.query('UPDATE parent SET n = 3 WHERE id = 1');
        await c.query('UPDATE parent SET n = -1 WHERE id = 2').catch(() => {});
      }),
    ).rejects.toThrow(/not inside the transaction \(status E\)|ended with ROLLBACK/);
    expect(await parentN(1)).toBe(0);
    await expectIdleConnections();
  });

  it('commitWith throws a failed COMMIT (a deferred foreign key) and keeps nothing', async () => {
    await expect(
      withTransaction(db.pool, async (c, tx) => {
        await c.query('UPDATE parent SET n = 3 WHERE id = 1');
        await tx.commitWith({ text: 'INSERT INTO late_child (id, parent_id) VALUES (1, 99)', values: [] });
      }),
    ).rejects.toSatisfy(isForeignKeyViolation);
    expect(await parentN(1)).toBe(0);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM late_child')).rows[0].n).toBe(0);
  });

  it('re-runs the whole transaction when a serialization conflict surfaces at commitWith', async () => {
    const meet = barrier(2);
    let attempts = 0;
    const bump = () =>
      withTransaction(db.pool, async (c, tx) => {
        attempts++;
        const { rows } = await c.query<{ n: number }>('SELECT sum(n)::int AS n FROM parent');
        await meet();
        await tx.commitWith({ text: 'UPDATE parent SET n = $1 + 1 WHERE id = 1', values: [rows[0].n] });
      }, { isolation: 'serializable' });
    await Promise.all([bump(), bump()]);
    expect(attempts).toBe(3);
    expect(await parentN(1)).toBe(2);
  });

  it('refuses a second commitWith', async () => {
    await expect(
      withTransaction(db.pool, async (_c, tx) => {
        await tx.commitWith({ text: 'UPDATE parent SET n = 1 WHERE id = 1', values: [] });
        await tx.commitWith({ text: 'UPDATE parent SET n = 2 WHERE id = 2', values: [] });
      }),
    ).rejects.toThrow('already committing');
    expect([await parentN(1), await parentN(2)]).toEqual([1, 0]);
  });
});

describe('committedAfterLoss', () => {
  it('asks the probe once the server process is gone, and cannot tell while it still runs', async () => {
    const held = await db.pool.connect();
    const pid = serverPid(held)!;
    try {
      expect(await committedAfterLoss(db.pool, pid, async () => true, 200)).toBeUndefined();
    } finally {
      held.release(true); // ends that connection: its server process goes
    }
    expect(await committedAfterLoss(db.pool, pid, async () => true, 5000)).toBe(true);
    expect(await committedAfterLoss(db.pool, pid, async () => false, 5000)).toBe(false);
  });

  it('cannot tell when the database cannot be asked', async () => {
    const unreachable = new pg.Pool({ connectionString: 'postgres://127.0.0.1:1/none', connectionTimeoutMillis: 500 });
    try {
      expect(await committedAfterLoss(unreachable, 12345, async () => true, 500)).toBeUndefined();
    } finally {
      await unreachable.end();
    }
  });
});

describe('error classification', () => {
  async function failure(sql: string): Promise<unknown> {
    return db.pool.query(sql).then(() => { throw new Error('expected a failure'); }, (err: unknown) => err);
  }

  it('recognises unique, foreign key and check violations from PostgreSQL', async () => {
    const unique = await failure('INSERT INTO parent (id) VALUES (1)');
    const fk = await failure('INSERT INTO child (id, parent_id) VALUES (1, 99)');
    const check = await failure('UPDATE parent SET n = -1');
    expect([isUniqueViolation(unique), isForeignKeyViolation(unique), isCheckViolation(unique)]).toEqual([true, false, false]);
    expect([isUniqueViolation(fk), isForeignKeyViolation(fk), isCheckViolation(fk)]).toEqual([false, true, false]);
    expect([isUniqueViolation(check), isForeignKeyViolation(check), isCheckViolation(check)]).toEqual([false, false, true]);
    expect(isUniqueViolation(unique) && unique.constraint).toBe('parent_pkey');
  });

  it('sees the SQLSTATE through a wrapping error', () => {
    const wrapped = new Error('import failed', { cause: retryable('23505') });
    expect(sqlState(wrapped)).toBe('23505');
    expect(isUniqueViolation(wrapped)).toBe(true);
  });

  it('treats a refused connection as a connection error', async () => {
    const client = new pg.Client({ host: '127.0.0.1', port: 1, user: 'postgres', database: 'postgres' });
    const err = await client.connect().then(() => null, (e: unknown) => e);
    expect(isConnectionError(err)).toBe(true);
  });

  it('treats a server-side termination mid-transaction as a connection error and keeps the process alive', async () => {
    const err = await withTransaction(db.pool, async (c) => {
      await c.query('SELECT pg_terminate_backend(pg_backend_pid())');
    }).then(() => null, (e: unknown) => e);
    expect(isConnectionError(err)).toBe(true);
    // The broken connection was discarded, not returned to the pool.
    expect((await db.pool.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
  });

  const handedOn = [
    ['a transaction', (pool: pg.Pool) => withTransaction(pool, (c) => c.query('SELECT 1'))],
    ['a lone statement (runAlone)', (pool: pg.Pool) => runAlone(pool, { name: 'tx_test_lone', text: 'SELECT 1', values: [] })],
  ] as const;
  it.each(handedOn)('keeps the process alive when %s gets a connection with its termination already read', async (_what, use) => {
    // Under load the driver can read a server's last answer and its "terminating connection"
    // (a shutdown) in one chunk. pool.query hands the connection on while it handles that
    // answer, and the termination is emitted as an 'error' before any awaiting code runs: the
    // connection must be listened to from the moment it exists, and its next user must fail
    // with the termination, without sending anything (for runAlone: not "outcome unknown").
    const proxy = await holdingProxy(new URL(db.url));
    const pool = createPool(proxy.url(db.url), { max: 1 });
    try {
      const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      proxy.hold();
      const first = pool.query('SELECT 1 AS one');
      first.catch(() => {}); // awaited below; a failure before that must not hide the first one
      const waiting = use(pool).then(() => null, (e: unknown) => e);
      await proxy.heldEndsWithReadyForQuery();
      await db.pool.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
      await proxy.serverClosed();
      proxy.flushInOneChunk();
      expect((await first).rows[0].one).toBe(1);
      // The termination itself, as the connection's listener heard it.
      const err = await waiting;
      expect(err).toMatchObject({ code: '57P01' });
      expect(err).not.toBeInstanceOf(CommitOutcomeUnknown);
      expect((await pool.query('SELECT 2 AS two')).rows[0].two).toBe(2);
    } finally {
      proxy.close();
      await pool.end();
    }
  });

  it('does not mistake constraint violations or plain errors for connection errors', async () => {
    expect(isConnectionError(await failure('INSERT INTO parent (id) VALUES (1)'))).toBe(false);
    expect(isConnectionError(new Error('boom'))).toBe(false);
    expect(isConnectionError(Object.assign(new Error('admin shutdown'), { code: '57P01' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('x'), { code: '08006' }))).toBe(true);
  });
});

/**
 * A TCP proxy to `target` for one connection at a time. After `hold()`, what the server sends is
 * kept back until `flushInOneChunk()` writes it to the client in a single write (and closes the
 * client's side if the server closed its own).
 */
async function holdingProxy(target: URL) {
  let held: Buffer[] | undefined;
  let client: net.Socket | undefined;
  let server: net.Socket | undefined;
  let serverClosed = false;
  const listener = net.createServer((c) => {
    client = c;
    const s = net.connect(Number(target.port || 5432), target.hostname);
    server = s;
    s.on('close', () => (serverClosed = true));
    c.on('data', (d) => s.write(d));
    s.on('data', (d) => (held ? held.push(d) : c.write(d)));
    s.on('close', () => {
      if (!held) c.destroy();
    });
    c.on('close', () => s.destroy());
    c.on('error', () => s.destroy());
    s.on('error', () => c.destroy());
  });
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const port = (listener.address() as net.AddressInfo).port;
  const waitFor = async (what: string, ok: () => boolean) => {
    for (let i = 0; !ok(); i++) {
      if (i > 500) throw new Error(`proxy: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return {
    url(original: string) {
      const u = new URL(original);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    hold() {
      held = [];
    },
    /** The held bytes end with ReadyForQuery ('Z', length 5, a status byte). */
    heldEndsWithReadyForQuery: () =>
      waitFor('an answer', () => {
        const all = Buffer.concat(held ?? []);
        return all.length >= 6 && all[all.length - 6] === 0x5a && all.readInt32BE(all.length - 5) === 5;
      }),
    serverClosed: () => waitFor('the server to close the connection', () => serverClosed),
    flushInOneChunk() {
      const all = Buffer.concat(held ?? []);
      held = undefined;
      client?.end(all);
    },
    close() {
      listener.close();
      client?.destroy();
      server?.destroy();
    },
  };
}
