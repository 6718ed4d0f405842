/**
 * Access, against real processes: every operation of `/openapi.json` without a token and with
 * an expired, a revoked, a foreign tenant's and a too-weak token, each on another instance;
 * nothing of the tenant changes. Then the audit table itself: the database refuses UPDATE,
 * DELETE and TRUNCATE, and rows tampered with behind its back are reported by verify (API and CLI).
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, promisify } from 'node:util';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { issueUserToken } from '../../src/admin/access-tokens.ts';
import { loadSigningKeys } from '../../src/admin/signing-keys.ts';
import { clearRetained } from '../lifecycle/deployments-fixture.ts';
import { CHAOS_TOKEN, startCluster, type Cluster } from './cluster.ts';
import { ADMIN_PASSWORD, buildChaosFixture, okSender, PLATFORM_ORG, type ChaosFixture } from './fixture.ts';
import { isRead, operationsOf, target, validRequest, type OpenApiOperation } from './hostile-input.ts';
import { Recorder, tally, type Exchange } from './recorder.ts';
import { counts, report } from './report.ts';
import { roundRobin } from './workload.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Answer without any token (everything else is checked by the callers below). */
const PUBLIC = new Set(['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /.well-known/jwks.json', 'POST /v1/auth/login', 'POST /v1/auth/refresh', 'POST /v1/auth/service-token']);
/** Service principals only: 403 for every user, whatever the id. */
const SERVICE_ONLY = (op: string) => op.includes('/v1/internal/') || op === 'POST /v1/auth/introspect';
/** What a user may do for themselves, also with the weakest role. */
const SELF_SERVICE = new Set(['POST /v1/tokens']);
/** The built-in catalog: any authenticated caller, of any tenant. */
const CATALOG = new Set(['GET /v1/models', 'GET /v1/models/{id}', 'GET /v1/rules', 'GET /v1/firmware']);
/** Reads a viewer may not make: administration and the audit log. */
const VIEWER_FORBIDDEN_READS = new Set(['GET /v1/users', 'GET /v1/users/{id}', 'GET /v1/users/{id}/roles', 'GET /v1/tokens/{id}', 'GET /v1/audit', 'GET /v1/audit/verify']);

type Caller = 'none' | 'expired' | 'revoked' | 'foreign' | 'viewer';

let cluster: Cluster;
let f: ChaosFixture;
let ops: OpenApiOperation[];
const tokens = {} as Record<Caller, string | null>;
const rec = new Recorder(`access${Date.now() % 100_000}`, CHAOS_TOKEN);
const balance = roundRobin(() => cluster.instances);

beforeAll(async () => {
  cluster = await startCluster({ instances: 3 });
  ops = operationsOf(await (await fetch(`${cluster.instances[0].url}/openapi.json`)).json()).filter((op) => !PUBLIC.has(op.key));
  f = await buildChaosFixture(rec, balance, `ACCESS-${Date.now() % 100_000}`);
  const ok = okSender(rec, balance);
  const login = async (email: string, password: string) => ((await ok<{ accessToken: string }>('POST', '/v1/auth/login', { email, password }, {}, null)).response as { accessToken: string }).accessToken;

  // Too weak: a viewer of the same organisation.
  const viewerEmail = `viewer-${randomUUID().slice(0, 8)}@a.example`;
  await ok('POST', '/v1/users', { email: viewerEmail, name: 'A viewer', password: ADMIN_PASSWORD, roles: [{ role: 'viewer' }] });
  tokens.viewer = await login(viewerEmail, ADMIN_PASSWORD);
  // Another tenant: a new organisation with its own admin.
  const foreignEmail = `admin-${randomUUID().slice(0, 8)}@b.example`;
  await ok('POST', '/v1/orgs', { name: `Tenant B ${randomUUID().slice(0, 4)}`, admin: { email: foreignEmail, name: 'B admin', password: ADMIN_PASSWORD } }, {}, f.adminJwt);
  tokens.foreign = await login(foreignEmail, ADMIN_PASSWORD);
  // Revoked: an API token of the admin, revoked.
  const made = (await ok<{ id: string; secret: string }>('POST', '/v1/tokens', { name: 'to revoke' }, {}, f.adminJwt)) as Exchange & { response: { id: string; secret: string } };
  await ok('DELETE', `/v1/tokens/${made.response.id}`, undefined, { 'if-match': made.etag as string }, f.adminJwt);
  tokens.revoked = made.response.secret;
  // Expired: the admin's claims, signed with the cluster's key, a minute past their expiry.
  const me = (await ok<{ id: string; name: string; orgId: string; bindings: never[] }>('GET', '/v1/auth/me', undefined, {}, f.adminJwt)).response as { id: string; name: string; orgId: string; bindings: never[] };
  tokens.expired = (await issueUserToken(await loadSigningKeys(cluster.db.pool), { id: me.id, name: me.name, orgId: me.orgId, roles: me.bindings }, -60)).accessToken;
  tokens.none = null;
});
afterAll(async () => {
  await cluster?.stop();
  // The fixture's deployment left retained configuration on the shared broker.
  if (f) await clearRetained(f.graph.site.code).catch(() => undefined);
});

/** A fingerprint of everything of organisation `orgId`: its sites' configuration, users, tokens, devices, deployments, applied audit events. */
async function tenantState(pool: pg.Pool, orgId: string): Promise<Record<string, string>> {
  const sites = `(SELECT id FROM config.sites WHERE org_id = $1)`;
  const queries: Record<string, string> = {
    sites: `SELECT to_jsonb(t) AS x FROM config.sites t WHERE org_id = $1`,
    assets: `SELECT to_jsonb(t) AS x FROM config.assets t WHERE site_id IN ${sites}`,
    connections: `SELECT to_jsonb(t) AS x FROM config.connections t WHERE site_id IN ${sites}`,
    versions: `SELECT to_jsonb(t) AS x FROM config.config_versions t WHERE site_id IN ${sites}`,
    changesets: `SELECT to_jsonb(t) AS x FROM config.changesets t WHERE site_id IN ${sites}`,
    orgs: `SELECT to_jsonb(t) AS x FROM admin.orgs t WHERE id = $1`,
    users: `SELECT to_jsonb(t) AS x FROM admin.users t WHERE org_id = $1`,
    bindings: `SELECT to_jsonb(t) AS x FROM admin.role_bindings t WHERE org_id = $1`,
    tokens: `SELECT to_jsonb(t) - 'last_used_at' AS x FROM admin.api_tokens t WHERE org_id = $1`,
    devices: `SELECT to_jsonb(t) AS x FROM lifecycle.devices t WHERE org_id = $1`,
    deployments: `SELECT to_jsonb(t) - 'runner_id' - 'runner_seen_at' AS x FROM lifecycle.deployments t WHERE org_id = $1`,
    events: `SELECT to_jsonb(t) AS x FROM audit.events t WHERE org_id = $1 AND outcome = 'applied'`,
  };
  const out: Record<string, string> = {};
  for (const [name, sql] of Object.entries(queries)) {
    const { rows } = await pool.query<{ md5: string; n: number }>(`SELECT count(*)::int AS n, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS md5 FROM (${sql}) s`, [orgId]);
    out[name] = `${rows[0].n}:${rows[0].md5}`;
  }
  return out;
}

/** Does `op` name a resource of the tenant (a path id, a site in its body)? */
const namesTenantResource = (op: OpenApiOperation) => op.params.some((p) => p.in === 'path') || (op.body?.properties !== undefined && 'siteId' in op.body.properties);

it('every operation without a token, with an expired, revoked, foreign-tenant or too-weak token is refused, on every instance, and nothing of the tenant changes', async ({ task }) => {
  const before = await tenantState(cluster.db.pool, PLATFORM_ORG);
  const tenantIds = [f.siteId, f.meterId, f.gatewayId, f.cableId, f.changesetId, f.deviceId, f.stockDeviceId, f.deploymentId, f.userId, f.tokenId, PLATFORM_ORG];
  const problems: string[] = [];
  const seen: Exchange[] = [];
  for (const op of ops) {
    for (const caller of Object.keys(tokens) as Caller[]) {
      // Allowed by design (a user's own token: test/access covers it) and it would change the tenant.
      if (caller === 'viewer' && SELF_SERVICE.has(op.key)) continue;
      const req = validRequest(op, f);
      const ex = await rec.send(balance(), 1, req.method, target(req), { body: req.body, headers: req.headers, token: tokens[caller] });
      seen.push(ex);
      const status = ex.outcome;
      const what = `${op.key} as ${caller} on ${ex.instance}: ${String(status)} ${ex.text?.slice(0, 160) ?? ex.error}`;
      if (typeof status !== 'number' || status >= 500) {
        problems.push(what);
        continue;
      }
      if (status >= 400 && !/^application\/problem\+json/.test(ex.contentType ?? '')) problems.push(`${what}: not a problem document`);
      const leaked = tenantIds.filter((id) => ex.text?.includes(id));
      if (caller === 'none' || caller === 'expired' || caller === 'revoked') {
        if (status !== 401) problems.push(`${what}: expected 401`);
      } else if (caller === 'foreign') {
        if (CATALOG.has(op.key)) {
          if (status !== 200) problems.push(`${what}: the catalog is open to every tenant`);
        } else if (SERVICE_ONLY(op.key) || op.key === 'POST /v1/orgs') {
          if (status !== 403) problems.push(`${what}: expected 403`);
        } else if (namesTenantResource(op)) {
          if (status !== 404) problems.push(`${what}: expected 404, exactly as for a missing resource`);
          else {
            // The very answer the tenant's own admin gets for a resource that does not exist.
            const id = tenantIds.find((x) => target(req).includes(x) || JSON.stringify(req.body ?? '').includes(x));
            if (id) {
              const other = id.startsWith('token:') ? `token:${randomBytes(6).toString('hex')}` : randomUUID();
              const swap = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v).replaceAll(id, other)) as T));
              const missing = await rec.send(balance(), 1, req.method, target(req).replaceAll(id, other), { body: swap(req.body), headers: swap(req.headers), token: f.adminJwt });
              const norm = (e: Exchange, from: string) => {
                const b = e.response as { code?: string; title?: string; detail?: string } | undefined;
                return { status: e.outcome, code: b?.code, title: b?.title, detail: b?.detail?.replaceAll(from, '<id>') };
              };
              if (!isDeepStrictEqual(norm(ex, id), norm(missing, other))) problems.push(`${what}: not answered like a missing resource (${JSON.stringify(norm(missing, other))})`);
            }
          }
        } else if (status < 300 && leaked.length > 0) problems.push(`${what}: shows the tenant's ${leaked.join(', ')}`);
      } else if (caller === 'viewer') {
        const forbidden = SERVICE_ONLY(op.key) || VIEWER_FORBIDDEN_READS.has(op.key) || (!isRead(op) && !SELF_SERVICE.has(op.key));
        if (forbidden && status !== 403) problems.push(`${what}: expected 403`);
      }
    }
  }
  expect(problems).toEqual([]);
  expect(await tenantState(cluster.db.pool, PLATFORM_ORG), "the tenant's data after all of it").toEqual(before);
  const statuses = tally(seen);
  report(task, {
    scenario: `access: all ${ops.length} authenticated operations × no token, expired JWT, revoked API token, foreign-tenant admin, too-weak viewer (3 instances)`,
    tried: `${seen.length} requests: ${counts(statuses)}`,
    held: "none/expired/revoked → 401 everywhere; another tenant → 404 exactly like a missing resource (403 for service-only routes), its lists without a trace of the tenant; a viewer → 403 for every write and administrative read; the tenant's sites, assets, cables, versions, change sets, users, tokens, devices, deployments and audit events byte-identical",
  });
});

it('the database refuses UPDATE, DELETE and TRUNCATE of audit events; rows tampered with behind its back are reported by verify', async ({ task }) => {
  const pool = cluster.db.pool;
  const { rows } = await pool.query<{ id: string; scope: string; seq: number }>(`SELECT id, scope, seq FROM audit.events WHERE site_id = $1 AND outcome = 'applied' ORDER BY seq LIMIT 3`, [f.siteId]);
  const [victim, , gone] = rows;
  const count = async () => Number((await pool.query(`SELECT count(*) AS n FROM audit.events`)).rows[0].n);
  const n = await count();
  for (const sql of [`UPDATE audit.events SET comment = 'rewritten' WHERE id = '${victim.id}'`, `DELETE FROM audit.events WHERE id = '${victim.id}'`, `TRUNCATE audit.events`]) {
    await expect(pool.query(sql), sql).rejects.toMatchObject({ code: '42501', message: expect.stringContaining('append-only') });
  }
  // Not even as a replica (the triggers are ENABLE ALWAYS).
  const client = await pool.connect();
  try {
    await client.query(`SET session_replication_role = replica`);
    await expect(client.query(`DELETE FROM audit.events WHERE id = '${victim.id}'`)).rejects.toMatchObject({ code: '42501' });
  } finally {
    await client.query(`RESET session_replication_role`);
    client.release();
  }
  expect(await count()).toBe(n);
  const verifyApi = () => rec.send<{ ok: boolean; problems: Array<{ eventId: string; problem: string; scope: string }> }>(balance(), 0, 'GET', '/v1/audit/verify');
  expect((await verifyApi()).response).toMatchObject({ ok: true });

  // A superuser goes around the triggers: edits one event, deletes another.
  await pool.query(`ALTER TABLE audit.events DISABLE TRIGGER events_refuse_update_delete`);
  try {
    await pool.query(`UPDATE audit.events SET after = jsonb_set(after, '{name}', '"forged"') WHERE id = $1`, [victim.id]);
    await pool.query(`DELETE FROM audit.events WHERE id = $1`, [gone.id]);
  } finally {
    await pool.query(`ALTER TABLE audit.events ENABLE ALWAYS TRIGGER events_refuse_update_delete`);
  }
  const verified = (await verifyApi()).response as { ok: boolean; problems: Array<{ eventId: string; problem: string; scope: string; seq: number }> };
  expect(verified.ok).toBe(false);
  expect(verified.problems).toEqual(expect.arrayContaining([expect.objectContaining({ eventId: victim.id, problem: 'hash-mismatch' }), expect.objectContaining({ scope: gone.scope, problem: 'gap' })]));
  const cli = await run(process.execPath, ['bin/rema.mjs', 'audit', 'verify'], { cwd: ROOT, env: { ...process.env, DATABASE_URL: cluster.db.url } }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (err: { code: number; stdout: string }) => ({ code: err.code, out: err.stdout }),
  );
  expect(cli.code, cli.out).toBe(1);
  expect(cli.out).toContain('hash-mismatch');
  expect(cli.out).toContain('gap');
  report(task, {
    scenario: 'audit table: UPDATE / DELETE / TRUNCATE in the database; a superuser editing and deleting events with the triggers disabled',
    tried: 'UPDATE, DELETE, TRUNCATE as the database owner, DELETE with session_replication_role = replica; then one event edited and one deleted around the triggers',
    held: `all refused with 42501 "append-only", nothing removed; GET /v1/audit/verify and \`rema audit verify\` (exit 1) report ${verified.problems.map((p) => p.problem).join(', ')} at the edited and the deleted event`,
  });
});
