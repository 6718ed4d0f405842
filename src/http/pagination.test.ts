import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpApp } from './app.ts';
import type { HttpApp } from './app.ts';
import { Page, PageQuery, decodeCursor, encodeCursor, toPage } from './pagination.ts';

const After = Type.Object({ name: Type.String(), id: Type.String() });
const names = Array.from({ length: 7 }, (_, i) => ({ id: `a${i}`, name: `GW-${i}` }));
let app: HttpApp;

beforeAll(async () => {
  app = await buildHttpApp();
  app.get(
    '/items',
    { schema: { querystring: PageQuery, response: { 200: Page(Type.Object({ id: Type.String(), name: Type.String() })) } } },
    async (request) => {
      const after = request.query.cursor ? decodeCursor(request.query.cursor, After) : undefined;
      const rows = names.filter((n) => !after || n.name > after.name).slice(0, request.query.limit + 1);
      return toPage(rows, request.query.limit, (last) => ({ name: last.name, id: last.id }));
    },
  );
  await app.ready();
});
afterAll(() => app.close());

describe('cursors', () => {
  it('round-trip a position as opaque base64url', () => {
    const cursor = encodeCursor({ name: 'GW/ü', id: 'a1' });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, After)).toEqual({ name: 'GW/ü', id: 'a1' });
  });

  it('refuse garbage, non-JSON and wrongly shaped cursors with 400 INVALID_CURSOR', () => {
    for (const cursor of ['%%%', 'bm90IGpzb24', encodeCursor({ id: 1 }), 'x'.repeat(3000)]) {
      expect(() => decodeCursor(cursor, After)).toThrow(expect.objectContaining({ code: 'INVALID_CURSOR', status: 400 }));
    }
  });

  it("refuse a position with a field its list does not page by: another list's cursor", () => {
    expect(() => decodeCursor(encodeCursor({ name: 'GW-1', id: 'a1', code: 'S1' }), After)).toThrow(expect.objectContaining({ code: 'INVALID_CURSOR' }));
  });
});

describe('a paginated list', () => {
  it('defaults to 50 items and walks every page with nextCursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/items?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      const page = res.json();
      seen.push(...page.items.map((i: { id: string }) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(names.map((n) => n.id));
    const all = await app.inject({ method: 'GET', url: '/items' });
    expect(all.json()).toMatchObject({ nextCursor: null });
    expect(all.json().items).toHaveLength(7);
  });

  it('answers a garbage cursor with 400 problem+json', async () => {
    const res = await app.inject({ method: 'GET', url: '/items?cursor=not-a-cursor' });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().code).toBe('INVALID_CURSOR');
  });

  it('refuses a limit outside 1..500 with 422', async () => {
    for (const limit of ['0', '501', 'ten']) {
      const res = await app.inject({ method: 'GET', url: `/items?limit=${limit}` });
      expect(res.statusCode).toBe(422);
      expect(res.json().errors[0]).toMatchObject({ in: 'querystring', path: '/limit' });
    }
  });
});
