import { randomUUID } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `text` is a UUID, in either case (rema writes and answers them in lower case). */
export const isUuid = (text: string): boolean => UUID.test(text);

/**
 * A new id for something rema stores: a UUID of version 7 (RFC 9562), which begins with the
 * millisecond it was made. Ids made one after another sort one after another (to the
 * millisecond), so each insert goes to the right-hand end of the B-tree indexes keyed by them —
 * the same few index pages, already in memory, instead of a random page of an index that grows
 * with the fleet and its history (which, after each checkpoint, PostgreSQL also writes whole to
 * the WAL). Version 4 ids stay valid wherever an id is accepted; this only changes the ids rema
 * makes itself. Such an id tells when it was made, as a creation time would.
 *
 * The random bits are those of `randomUUID()`, which takes them from a cache of random bytes
 * refilled once per 128 ids: the 48-bit time replaces its first twelve hex digits and the
 * version digit becomes 7; its variant bits are already RFC 9562's.
 *
 * @example
 * newId(); // made at 2026-11-28T01:15:00.000Z: '01a21fb8-4620-7c4e-9a51-6f0d2e8b7a13' (then random bits)
 */
export function newId(): string {
  const ms = Date.now().toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${randomUUID().slice(15)}`;
}
