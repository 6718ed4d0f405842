import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { withTransaction } from '../db/tx.ts';
import { auditAdmin, SYSTEM_ACTOR } from './admin-audit.ts';
import { publishAdminEvents } from './events.ts';
import { generatePassword, hashPassword } from './passwords.ts';
import { normalizeEmail } from './users-store.ts';
import { orgFromRow, orgView, userView, type OrgRow } from './views.ts';

/**
 * The platform organisation made on first start. Its id is the organisation data written
 * before rema had tenants belongs to (`DEFAULT_ORG_ID`), so an upgraded installation keeps
 * its sites. Its admins may create organisations.
 */
export const PLATFORM_ORG_ID = '00000000-0000-4000-8000-000000000001';
export const DEFAULT_ADMIN_EMAIL = 'admin@rema.local';

export interface BootstrapResult {
  /** True on the start that made the platform organisation and its first admin. */
  created: boolean;
  orgId: string;
  userId: string;
  email: string;
  /** The generated password, present only when `created` and no password was given: print it once. */
  password?: string;
}

/**
 * Makes the platform organisation and its first admin on first start; later starts (and
 * concurrent ones: an advisory lock serialises them) find them and change nothing. The email
 * comes from `REMA_ADMIN_EMAIL` (default admin@rema.local), the password from
 * `REMA_ADMIN_PASSWORD` or is generated and returned for `rema serve` to print once.
 *
 * @example
 * const admin = await bootstrapAdmin(pool);
 * if (admin.created && admin.password) console.log(`admin ${admin.email} / ${admin.password}`);
 */
export async function bootstrapAdmin(pool: pg.Pool, opts: { email?: string; password?: string } = {}): Promise<BootstrapResult> {
  const email = normalizeEmail(opts.email ?? process.env.REMA_ADMIN_EMAIL ?? DEFAULT_ADMIN_EMAIL);
  const existing = await findBootstrap(pool);
  if (existing) return existing;
  const given = opts.password ?? process.env.REMA_ADMIN_PASSWORD;
  const password = given || generatePassword();
  const passwordHash = await hashPassword(password);
  return withTransaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('rema:admin:bootstrap'))`);
    const raced = await findBootstrap(client);
    if (raced) return raced;
    const org = await client.query<OrgRow>(
      `INSERT INTO admin.orgs (id, name, platform) VALUES ($1, 'Platform', true)
       ON CONFLICT (id) DO UPDATE SET platform = true RETURNING id, name, platform, version, created_at, updated_at`,
      [PLATFORM_ORG_ID],
    );
    const userId = randomUUID();
    const user = await client.query<{ created_at: Date; updated_at: Date }>(
      `INSERT INTO admin.users (id, org_id, email, name, password_hash) VALUES ($1, $2, $3, 'Administrator', $4) RETURNING created_at, updated_at`,
      [userId, PLATFORM_ORG_ID, email, passwordHash],
    );
    await client.query(`INSERT INTO admin.role_bindings (user_id, org_id, site_id, role) VALUES ($1, $2, NULL, 'admin')`, [userId, PLATFORM_ORG_ID]);
    const admin = {
      id: userId,
      orgId: PLATFORM_ORG_ID,
      email,
      name: 'Administrator',
      disabled: false,
      version: 1,
      createdAt: user.rows[0].created_at.toISOString(),
      updatedAt: user.rows[0].updated_at.toISOString(),
      roles: [{ orgId: PLATFORM_ORG_ID, siteId: null, role: 'admin' as const }],
    };
    const ctx = { actor: SYSTEM_ACTOR, requestId: null, sourceIp: null };
    await auditAdmin(client, ctx, [
      { orgId: PLATFORM_ORG_ID, entityType: 'org', entityId: PLATFORM_ORG_ID, action: 'create', after: orgView(orgFromRow(org.rows[0])) },
      { orgId: PLATFORM_ORG_ID, entityType: 'user', entityId: userId, action: 'create', after: userView(admin) },
    ]);
    const at = Date.now();
    await publishAdminEvents(client, [
      { topic: 'admin.org.created', payload: { orgId: PLATFORM_ORG_ID, at } },
      { topic: 'admin.user.created', payload: { userId, orgId: PLATFORM_ORG_ID, at } },
    ]);
    return { created: true, orgId: PLATFORM_ORG_ID, userId, email, ...(given ? {} : { password }) };
  });
}

/** The bootstrap outcome of an earlier start: the platform organisation and its first admin. */
async function findBootstrap(db: pg.Pool | pg.PoolClient): Promise<BootstrapResult | undefined> {
  const { rows } = await db.query<{ org_id: string; id: string | null; email: string | null }>(
    `SELECT o.id AS org_id, u.id, u.email FROM admin.orgs o
       LEFT JOIN LATERAL (
         SELECT u.id, u.email FROM admin.users u JOIN admin.role_bindings b ON b.user_id = u.id
          WHERE u.org_id = o.id AND b.role = 'admin' AND b.site_id IS NULL AND u.deleted_at IS NULL
          ORDER BY u.created_at, u.id LIMIT 1) u ON true
      WHERE o.platform`,
  );
  const row = rows[0];
  return row && { created: false, orgId: row.org_id, userId: row.id ?? '', email: row.email ?? '' };
}
