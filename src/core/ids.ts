import { randomUUID } from 'node:crypto';

/**
 * A new id for something rema stores: a UUID of version 7 (RFC 9562), which begins with the
 * millisecond it was made. Ids made one after another sort one after another (to the
 * millisecond), so each insert goes to the right-hand end of the B-tree indexes keyed by them —
 * the same few index pages, already in memory, instead of a random page of an index that grows
 * with the fleet and its history (which, after each checkpoint, PostgreSQL also writes whole to
 * the WAL). Version 4 ids stay valid wherever an id is accepted; this only changes the ids rema
 * makes itself.
 *
 * The random bits are those of `randomUUID()`, which draws from a buffered pool of entropy (a
 * system call per 128 ids instead of one per id): the 48-bit time replaces its first twelve hex
 * digits and the version digit becomes 7; its variant bits are already RFC 9562's.
 */
export function newId(): string {
  const ms = Date.now().toString(16).padStart(12, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${randomUUID().slice(15)}`;
}
