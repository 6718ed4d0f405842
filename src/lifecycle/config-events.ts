/**
 * What the lifecycle service does with the configuration service's events. It reads them
 * from the config feed (`GET /v1/internal/events/config`) over HTTP with its service token —
 * in one process through `inject`, apart through `fetch` to `REMA_CONFIG_URL` — and keeps its
 * position in `lifecycle.event_cursors`, moved in the same transaction as the event's effect:
 * delivered at least once, applied once.
 */
import type pg from 'pg';
import type { AuditActor } from '../audit/types.ts';
import { pgCursorStore, startConsumer, type EventConsumer, type FeedEvent, type FeedSource } from '../events/consumer.ts';
import type { FeedFilter, FeedPage } from '../events/feed.ts';
import type { Transport } from './config-client.ts';
import { unbindDevice, LIFECYCLE_SYSTEM_ACTOR, type AssetGone } from './devices/unbind-write.ts';
import { beginWithdrawal, endWithdrawal, withdrawAsset } from './deployments/withdraw-asset.ts';
import type { WarnLog } from './throttled-warnings.ts';

/** The consumer's name in `lifecycle.event_cursors`. */
export const CONFIG_EVENTS_CONSUMER = 'config-events';

interface AssetEventPayload {
  siteId?: string;
  siteRevision?: number;
  entityId?: string;
  changesetId?: string;
  requestId?: string;
  actor?: AuditActor;
  before?: { name?: string; status?: string } | null;
  after?: { name?: string; status?: string } | null;
}

/**
 * The asset an event takes out of service, if it does: `config.asset.deleted`, or
 * `config.asset.updated` whose asset is now `retired`. Pure.
 *
 * @example
 * assetGone({ id: 7, topic: 'config.asset.updated', key: 'a1', createdAt: '…', payload: { entityId: 'a1', after: { status: 'retired' } } });
 * // → { assetId: 'a1', how: 'retired', … }
 */
export function assetGone(event: FeedEvent): AssetGone | undefined {
  const p = (event.payload ?? {}) as AssetEventPayload;
  const assetId = typeof p.entityId === 'string' ? p.entityId : event.key;
  const common = { assetId, changesetId: p.changesetId ?? null, requestId: p.requestId ?? null, by: p.actor ?? null, source: `${event.topic} #${event.id}` };
  if (event.topic === 'config.asset.deleted') return { ...common, how: 'deleted', assetName: p.before?.name ?? null };
  if (event.topic === 'config.asset.updated' && p.after?.status === 'retired') return { ...common, how: 'retired', assetName: p.after.name ?? null };
  return undefined;
}

/**
 * Applies one configuration event inside the consumer's transaction: an asset that left
 * service loses its device (`unbindDevice`) and its deployments — open targets cancelled, its
 * retained configurations queued to be cleared (`withdrawAsset`).
 */
export async function handleConfigEvent(client: pg.PoolClient, event: FeedEvent): Promise<void> {
  const gone = assetGone(event);
  if (!gone) return;
  const p = (event.payload ?? {}) as AssetEventPayload;
  const siteId = typeof p.siteId === 'string' ? p.siteId : null;
  // The site's deployment lock and the slot, then the device, and only then any audit chain head.
  await beginWithdrawal(client, { assetId: gone.assetId, siteId });
  await unbindDevice(client, gone);
  await withdrawAsset(client, {
    assetId: gone.assetId,
    how: gone.how,
    siteId,
    siteRevision: typeof p.siteRevision === 'number' ? p.siteRevision : null,
    actor: LIFECYCLE_SYSTEM_ACTOR,
    requestId: gone.requestId ?? `event:${gone.source}`,
    source: gone.source,
  });
  await endWithdrawal(client);
}

/**
 * What of the configuration feed the lifecycle service may act on (see {@link assetGone}):
 * asset deletions, and asset updates that change the status (retirements among them). The
 * feed leaves the rest out — the event of every other configuration write — instead of serving
 * it to be read and dropped here.
 */
export const CONFIG_EVENTS_FILTER: FeedFilter = { topics: ['config.asset.deleted', 'config.asset.updated'], changed: 'status' };

/**
 * The feed of `service` through a {@link Transport} (the one the config client uses), with a
 * service token; only the events `filter` lets through, when given.
 */
export function transportFeedSource(transport: Transport, service: string, token: () => string | Promise<string>, filter: FeedFilter = {}): FeedSource {
  return async ({ after, limit, since }) => {
    const query = new URLSearchParams({
      after: String(after),
      limit: String(limit),
      ...(since ? { since } : {}),
      ...(filter.topics ? { topics: filter.topics.join(',') } : {}),
      ...(filter.changed ? { changed: filter.changed } : {}),
    });
    const res = await transport({ method: 'GET', url: `/v1/internal/events/${service}?${query}`, headers: { authorization: `Bearer ${await token()}`, accept: 'application/json' } });
    if (res.status !== 200) throw new Error(`event feed of ${service} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
    return res.body as FeedPage;
  };
}

export interface ConfigEventsOptions {
  pool: pg.Pool;
  source: FeedSource;
  /** Pause between polls when nothing new came (default 1 s). */
  pollIntervalMs?: number;
  log: WarnLog;
}

/**
 * Starts consuming the configuration service's events.
 *
 * @example
 * const consumer = startConfigEvents({ pool, source: transportFeedSource(fetchTransport(configUrl), 'config', token), log: app.log });
 * // …
 * await consumer.stop();
 */
export function startConfigEvents(opts: ConfigEventsOptions): EventConsumer {
  let failing = false;
  const consumer = startConsumer({
    source: async (q) => {
      const page = await opts.source(q);
      failing = false;
      return page;
    },
    cursor: pgCursorStore(opts.pool, { schema: 'lifecycle', consumer: CONFIG_EVENTS_CONSUMER }),
    handler: async (event, tx) => {
      if (!tx) throw new Error('the config events consumer needs a transactional cursor store');
      await handleConfigEvent(tx, event);
    },
    pollIntervalMs: opts.pollIntervalMs ?? 1000,
    // A page is one transaction: a backlog (a fleet just imported) costs a commit per 500 events.
    batchSize: 500,
    // One warning per outage: the consumer retries on every poll and loses nothing meanwhile.
    onError: (err) => {
      if (!failing) opts.log.warn({ err }, 'reading the configuration service events failed; retrying');
      failing = true;
    },
  });
  return consumer;
}
