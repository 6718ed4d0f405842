import { v7 } from 'uuid';

/**
 * A new id for something rema stores: a UUID of version 7 (RFC 9562), which begins with the
 * millisecond it was made. Ids made one after another sort one after another, so each insert
 * goes to the right-hand end of the B-tree indexes keyed by them — the same few index pages,
 * already in memory, instead of a random page of an index that grows with the fleet and its
 * history (which, after each checkpoint, PostgreSQL also writes whole to the WAL). Version 4
 * ids stay valid wherever an id is accepted; this only changes the ids rema makes itself.
 */
export const newId = (): string => v7();
