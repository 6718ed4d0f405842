/**
 * Cursor pagination: `?limit=&cursor=` in, `{ items, nextCursor }` out.
 *
 * A cursor is base64url JSON of whatever the list needs to resume (typically the sort key of
 * the last item returned). It is opaque to clients but not secret or signed: a tampered cursor
 * can only move the page window, every query still applies its own authorisation filters.
 */
import { Type } from 'typebox';
import type { Static, TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { ApiError } from './errors.ts';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;
const MAX_CURSOR_LENGTH = 2048;

/**
 * Query properties of a paginated list, to spread next to the list's filters.
 *
 * @example
 * const Query = Type.Object({ ...pageQueryProperties, siteId: Type.Optional(Type.String()) });
 */
export const pageQueryProperties = {
  limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: 'Items per page' }),
  cursor: Type.Optional(
    Type.String({ minLength: 1, maxLength: MAX_CURSOR_LENGTH, description: 'The `nextCursor` of the previous page' }),
  ),
};

/** `{ limit, cursor? }` as a query schema of its own. */
export const PageQuery = Type.Object(pageQueryProperties);
export type PageQuery = Static<typeof PageQuery>;

/**
 * Response envelope of a page of `item`.
 *
 * @example
 * app.get('/sites', { schema: { querystring: PageQuery, response: { 200: Page(Site) } } }, …);
 */
export function Page<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last page' }),
  });
}

/** The opaque cursor for a resume position. */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

function invalidCursor(): ApiError {
  return new ApiError(
    'INVALID_CURSOR',
    'The cursor is not one this list issued; pass the nextCursor of the previous page unchanged, or omit it to start over.',
  );
}

/**
 * The position in `cursor`; 400 INVALID_CURSOR when it is not base64url JSON or, given a
 * `schema`, does not match it.
 *
 * @example
 * const after = decodeCursor(query.cursor, Type.Object({ name: Type.String(), id: Type.String() }));
 */
export function decodeCursor<S extends TSchema>(cursor: string, schema: S): Static<S>;
export function decodeCursor(cursor: string): unknown;
export function decodeCursor(cursor: string, schema?: TSchema): unknown {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidCursor();
  let position: unknown;
  try {
    position = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (schema !== undefined && (!Value.Check(schema, position) || !onlyItsFields(schema, position))) throw invalidCursor();
  return position;
}

/** Whether an object position has no field its schema does not name: a cursor of another list (sites' `{code, id}` given to assets' `{id}`) is not this list's. */
function onlyItsFields(schema: TSchema, position: unknown): boolean {
  const properties = (schema as { properties?: Record<string, unknown> }).properties;
  if (properties === undefined || typeof position !== 'object' || position === null) return true;
  return Object.keys(position).every((key) => Object.hasOwn(properties, key));
}

/** Fields of cursor schemas: what the list's query compares, so that an edited cursor is refused as one, not by the database. */
export const CursorField = {
  /** An id (lower case, as rema writes them). */
  uuid: Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' }),
  /** Text a list sorts by (a site's code): no NUL, which PostgreSQL's text cannot hold. */
  text: Type.String({ maxLength: 1000, pattern: '^[^\\u0000]*$' }),
  /** A UTC instant to the microsecond, as the lists that page by time write it. */
  instantUs: Type.String({ format: 'date-time', pattern: '^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$' }),
  /** A version number (PostgreSQL `integer`). */
  version: Type.Integer({ minimum: 0, maximum: 2147483647 }),
};

/**
 * Builds a page from rows fetched with `LIMIT limit + 1`: the extra row, if any, only signals
 * that another page exists; the cursor resumes after the last item returned.
 *
 * @example
 * const rows = await db.query(sql`… WHERE (name, id) > (${after.name}, ${after.id}) LIMIT ${limit + 1}`);
 * return toPage(rows, limit, (row) => ({ name: row.name, id: row.id }));
 */
export function toPage<T>(rows: readonly T[], limit: number, positionOf: (last: T) => unknown): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const more = rows.length > limit && items.length > 0;
  return { items, nextCursor: more ? encodeCursor(positionOf(items[items.length - 1])) : null };
}
