import { describe, expect, it } from 'vitest';
import { buildHttpApp } from './app.ts';
import type { ReadyCheck } from './health.ts';

async function appWith(readyChecks: ReadyCheck[]) {
  const app = await buildHttpApp({ readyChecks, readyCheckTimeoutMs: 50 });
  await app.ready();
  return app;
}

const ok = async () => {};
const down = async () => {
  throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
};
const hangs = () => new Promise<void>(() => {});

describe('/healthz', () => {
  it('answers 200 while the process is up, whatever the dependencies', async () => {
    const app = await appWith([{ name: 'database', check: down }]);
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    await app.close();
  });
});

describe('/readyz', () => {
  it('answers 200 listing each check when all pass', async () => {
    const app = await appWith([{ name: 'database', check: ok }, { name: 'broker', check: ok }]);
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', checks: { database: 'ok', broker: 'ok' } });
    await app.close();
  });

  it('answers 503 problem+json naming the failing and timed-out checks', async () => {
    const app = await appWith([
      { name: 'database', check: down },
      { name: 'broker', check: hangs },
      { name: 'cache', check: ok },
    ]);
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.json()).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      failedChecks: ['database', 'broker'],
      checks: { database: 'failed', broker: 'failed', cache: 'ok' },
    });
    expect(res.body).not.toContain('5432');
    await app.close();
  });

  it('counts a check that throws synchronously as failed', async () => {
    const app = await appWith([{ name: 'database', check: () => { throw new Error('sync'); } }]);
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    await app.close();
  });
});
