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
 * event feed (feed.ts), at least once. No lock here: a sequenced feed (config, lifecycle)
 * serves events in the order they became visible, whatever their ids; the admin's writers
 * lock so that its feed may serve them by id (publishAdminEvents).
 */
export async function enqueueOutbox(client: pg.PoolClient, schema: string, events: OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  await client.query(outboxInsertSql(schema, '$1'), [JSON.stringify(events)]);
}

/**
 * The INSERT of {@link enqueueOutbox}, with the events as the JSON array parameter `param`: for
 * a writer that queues its events in the statement that writes its rows.
 */
export function outboxInsertSql(schema: string, param: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name: ${schema}`);
  return `INSERT INTO ${schema}.outbox (topic, key, payload)
     SELECT topic, key, payload FROM jsonb_to_recordset(${param}::jsonb) AS x(topic text, key text, payload jsonb)`;
}
