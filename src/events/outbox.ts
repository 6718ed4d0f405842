import type pg from 'pg';

export interface OutboxEvent {
  /** e.g. `config.asset.updated` */
  topic: string;
  /** Entity id: consumers keep per-key order. */
  key: string;
  payload: object;
}

/**
 * Queues events in the service's own outbox table inside the caller's transaction, so an
 * event exists exactly when its change does. Other services read them from the service's
 * event feed (feed.ts), at least once. Writers take no lock here: the feed orders events by
 * when they became visible, not by their ids (see `sequenceOutbox`).
 */
export async function enqueueOutbox(client: pg.PoolClient, schema: string, events: OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  await client.query(
    `INSERT INTO ${schema}.outbox (topic, key, payload)
     SELECT topic, key, payload FROM jsonb_to_recordset($1::jsonb) AS x(topic text, key text, payload jsonb)`,
    [JSON.stringify(events)],
  );
}
