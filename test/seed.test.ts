import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { seedCommand } from '../src/cli/seed.ts';
import { createTestDatabase, type TestDatabase } from '../src/db/test-database.ts';
import { planFleet } from '../src/seed/fleet-plan.ts';
import { buildServer, type Server } from '../src/server.ts';

const TOKEN = 'seed-test-token';
let db: TestDatabase;
let server: Server;
let url: string;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await buildServer({ databaseUrl: db.url, token: TOKEN });
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

/** Runs the command with its output captured instead of printed. */
async function seed(opts: { sites: number; assets: number; prefix?: string; token?: string }) {
  const out: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void out.push(args.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void out.push(args.join(' ')));
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const summary = await seedCommand({ url, token: TOKEN, concurrency: 4, ...opts });
  vi.restoreAllMocks();
  return { summary, output: out.join('\n') };
}

async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(new URL(path, url), {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

const countRows = async (table: string) => Number((await server.pool.query(`SELECT count(*)::int AS n FROM config.${table}`)).rows[0].n);

describe('rema seed against a running server', () => {
  it('builds 5 sites and 250 assets through the API, every site valid without a warning', async () => {
    // An earlier, interrupted run left site S0003 created but empty: the seed resumes it.
    const plan = planFleet({ sites: 5, assets: 250 });
    expect((await api('POST', '/v1/sites', plan.sites[2].create)).status).toBe(201);

    const { summary, output } = await seed({ sites: 5, assets: 250 });
    expect(summary).toMatchObject({ sites: 5, created: 4, resumed: 1, skipped: 0, assets: 250, cables: plan.cables });
    expect(summary.failure).toBeUndefined();
    expect(output).toMatch(/assets\s+250/);
    expect(output).toMatch(/rate\s+[\d,]+ assets\/s/);
    expect(await countRows('assets')).toBe(250);
    expect(await countRows('connections')).toBe(plan.cables);

    const sites = await api<{ items: Array<{ id: string; code: string }> }>('GET', '/v1/sites?limit=100');
    expect(sites.body.items.map((s) => s.code)).toEqual(['S0001', 'S0002', 'S0003', 'S0004', 'S0005']);
    for (const site of sites.body.items) {
      const res = await api<{ valid: boolean; violations: unknown[] }>('POST', `/v1/sites/${site.id}/validate`);
      expect(res.status).toBe(200);
      expect({ site: site.code, violations: res.body.violations }).toEqual({ site: site.code, violations: [] });
    }
  });

  it('writes nothing when run again: the fleet is already seeded', async () => {
    const { summary, output } = await seed({ sites: 5, assets: 250 });
    expect(summary).toMatchObject({ sites: 5, skipped: 5, assets: 0 });
    expect(output).toMatch(/already seeded/);
    expect(await countRows('assets')).toBe(250);
  });

  it('seeds a second fleet beside the first under a prefix, serials unique across both', async () => {
    const { summary } = await seed({ sites: 2, assets: 80, prefix: 'b' });
    expect(summary).toMatchObject({ sites: 2, created: 2, assets: 80 });
    expect(await countRows('assets')).toBe(330);
    const dup = await server.pool.query(`SELECT serial FROM config.assets WHERE serial IS NOT NULL GROUP BY upper(btrim(serial)), serial HAVING count(*) > 1`);
    expect(dup.rows).toEqual([]);
  });

  it('stops with the server’s problem when a site holds assets this plan did not create', async () => {
    const site = await api<{ id: string }>('POST', '/v1/sites', { code: 'C-S0001', name: 'Hand-made', timezone: 'UTC', network: { subnet: '10.99.0.0/24', router: '10.99.0.1' } });
    await api('POST', `/v1/sites/${site.body.id}/changesets`, {
      operations: [{ op: 'createAsset', asset: { kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-X', config: { hostname: 'gw-x', ip: '10.99.0.10', protocols: ['mqtt'], pollIntervalMs: 5000, buses: {} } } }],
    });
    const { summary, output } = await seed({ sites: 1, assets: 20, prefix: 'C' });
    expect(summary.failure).toMatch(/site C-S0001 already exists with 1 asset\(s\) this plan did not create/);
    expect(output).toMatch(/rema seed stopped/);
    expect(process.exitCode).toBe(1);
  });

  it('stops at the first refusal and prints the problem body (a wrong token)', async () => {
    const { summary, output } = await seed({ sites: 3, assets: 60, prefix: 'D', token: 'wrong' });
    expect(summary.failure).toMatch(/creating site D-S000\d failed with HTTP 401/);
    expect(output).toMatch(/"code": "UNAUTHENTICATED"/);
    expect(summary.assets).toBe(0);
  });
});
