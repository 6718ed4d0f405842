import type pg from 'pg';
import { enqueueOutbox } from '../events/outbox.ts';

/**
 * What the admin service publishes on its outbox (feed: `GET /v1/internal/events/admin`).
 * Payloads carry `at` (epoch ms) so a consumer can tell tokens issued before the change from
 * tokens issued after it.
 */
export type AdminEvent =
  | { topic: 'admin.org.created'; payload: { orgId: string; at: number } }
  | { topic: 'admin.user.created'; payload: { userId: string; orgId: string; at: number } }
  /** Every token of the user (JWTs issued before `at`, API tokens) stops working. */
  | { topic: 'admin.user.disabled'; payload: { userId: string; orgId: string; at: number } }
  | { topic: 'admin.user.enabled'; payload: { userId: string; orgId: string; at: number } }
  /** Like disabled, for good. */
  | { topic: 'admin.user.deleted'; payload: { userId: string; orgId: string; at: number } }
  /** JWTs issued before `at` carry stale bindings; API tokens narrow to the new ones. */
  | { topic: 'admin.user.roles-changed'; payload: { userId: string; orgId: string; at: number } }
  | { topic: 'admin.token.revoked'; payload: { tokenId: string; userId: string; orgId: string; at: number } };

export type AdminTopic = AdminEvent['topic'];

/** Topics after which a remote authenticator must stop trusting a user's earlier tokens. */
export const USER_CUT_OFF_TOPICS: ReadonlySet<string> = new Set(['admin.user.disabled', 'admin.user.deleted', 'admin.user.roles-changed']);

/**
 * Queues admin events in `admin.outbox` inside the caller's transaction. The advisory lock,
 * held to commit, makes outbox ids commit in order: the feed (`?after=<id>`) never skips an
 * event whose transaction committed after a later id was read. Admin writes are rare, so
 * serialising their last step costs nothing noticeable.
 */
export async function publishAdminEvents(client: pg.PoolClient, events: AdminEvent[]): Promise<void> {
  if (events.length === 0) return;
  await client.query(`SELECT pg_advisory_xact_lock(hashtext('rema:admin:outbox'))`);
  await enqueueOutbox(
    client,
    'admin',
    events.map((e) => ({ topic: e.topic, key: 'tokenId' in e.payload ? e.payload.tokenId : 'userId' in e.payload ? e.payload.userId : e.payload.orgId, payload: e.payload })),
  );
}
