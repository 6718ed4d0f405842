import type { InjectOptions } from 'fastify';
import type { AdminServiceOptions } from '../../src/admin/service.ts';
import type { AuditEvent } from '../../src/audit/types.ts';
import { createTestDatabase, type TestDatabase } from '../../src/db/test-database.ts';
import { buildServer, type Server } from '../../src/server.ts';

/** The full-rights operator token every admin test server is built with. */
export const OPERATOR_TOKEN = 'admin-test-operator-token';

export interface Reply<T = Record<string, unknown>> {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: T;
}

export type Call = <T = Record<string, unknown>>(method: string, url: string, opts?: { token?: string | null; body?: unknown; headers?: Record<string, string>; ip?: string }) => Promise<Reply<T>>;

export interface AdminHarness {
  server: Server;
  db: TestDatabase;
  /** Calls the API; `token` defaults to the operator token, `null` sends none. */
  call: Call;
  /** The bootstrap admin's credentials. */
  admin: { email: string; password: string; orgId: string; userId: string };
  /** Logs in and returns the access token (fails the test otherwise). */
  login(email: string, password: string): Promise<string>;
  /** Audit events stored for an entity, oldest first. */
  auditOf(where: { entityId?: string; scope?: string; action?: string }): Promise<AuditEvent[]>;
  close(): Promise<void>;
}

/**
 * A rema server on a fresh database with short authentication settings where a test needs
 * them, driven through `app.inject`.
 *
 * @example
 * const h = await startAdminHarness({ auth: { lockout: { maxFailures: 3, lockSeconds: 1 } } });
 */
export async function startAdminHarness(opts: { auth?: AdminServiceOptions } = {}): Promise<AdminHarness> {
  const db = await createTestDatabase();
  // Generous login budgets unless a test is about them: every injected request comes from one IP.
  const roomy = { perIp: { max: 1000, timeWindow: 60_000 }, perAccount: { max: 1000, timeWindow: 60_000 } };
  const auth = { ...opts.auth, loginRateLimit: { ...roomy, ...opts.auth?.loginRateLimit } };
  const server = await buildServer({ databaseUrl: db.url, bootstrapToken: OPERATOR_TOKEN, auth });
  await server.app.ready();
  if (!server.bootstrap.created || !server.bootstrap.password) throw new Error('a fresh database should bootstrap an admin with a generated password');
  const admin = { email: server.bootstrap.email, password: server.bootstrap.password, orgId: server.bootstrap.orgId, userId: server.bootstrap.userId };
  const call: Call = async (method, url, o = {}) => {
    const token = o.token === undefined ? OPERATOR_TOKEN : o.token;
    const inject: InjectOptions = {
      method: method as InjectOptions['method'],
      url,
      headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...o.headers },
      ...(o.ip ? { remoteAddress: o.ip } : {}),
    };
    if (o.body !== undefined) inject.payload = o.body as InjectOptions['payload'];
    const res = await server.app.inject(inject);
    return { status: res.statusCode, headers: res.headers, body: res.body ? JSON.parse(res.body) : undefined };
  };
  return {
    server,
    db,
    call,
    admin,
    async login(email, password) {
      const res = await call<{ accessToken: string }>('POST', '/v1/auth/login', { token: null, body: { email, password } });
      if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.accessToken;
    },
    async auditOf(where) {
      const { rows } = await db.pool.query(
        `SELECT id, scope, seq, at, actor, request_id AS "requestId", service, org_id AS "orgId", entity_type AS "entityType",
                entity_id AS "entityId", action, outcome, before, after, comment, source_ip AS "sourceIp"
           FROM audit.events
          WHERE ($1::text IS NULL OR entity_id = $1) AND ($2::text IS NULL OR scope = $2) AND ($3::text IS NULL OR action = $3)
          ORDER BY at, seq`,
        [where.entityId ?? null, where.scope ?? null, where.action ?? null],
      );
      return rows as AuditEvent[];
    },
    async close() {
      await server.close();
      await db.drop();
    },
  };
}

let n = 0;
/** A unique email for a test user. */
export const newEmail = (tag = 'user') => `${tag}-${++n}-${Math.random().toString(36).slice(2, 8)}@example.test`;

/** Creates a user through the API as the operator (platform admin) and returns id, email and password. */
export async function createUser(
  h: AdminHarness,
  roles: Array<{ role: string; siteId?: string | null }>,
  opts: { token?: string; email?: string } = {},
): Promise<{ id: string; email: string; password: string; etag: string }> {
  const email = opts.email ?? newEmail();
  const password = `pw-${Math.random().toString(36).slice(2)}-long-enough`;
  const res = await h.call<{ id: string }>('POST', '/v1/users', { token: opts.token, body: { email, name: `User ${email}`, password, roles } });
  if (res.status !== 201) throw new Error(`create user: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, email, password, etag: String(res.headers.etag) };
}
