import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import jsonPatch from 'fast-json-patch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalize } from '../core/config-hash.ts';
import { createTestDatabase, type TestDatabase } from '../db/test-database.ts';
import { withTransaction } from '../db/tx.ts';
import { appendAuditEvents, canonicalJson, chainEvents, hashEvent } from './append.ts';
import { canonicalEventJson, canonicalForm, hashedFields } from './hash.ts';
import { alice, assetUpdate } from './audit-fixtures.ts';
import { migrateAuditSchema } from './migrate-audit.ts';
import { queryAuditEvents } from './query.ts';
import type { AuditOutcome } from './types.ts';
import { verifyAuditChains } from './verify.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await migrateAuditSchema(db.url);
});
afterAll(() => db?.drop());

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined like JSON.stringify', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, undefined], c: 'x' }, e: undefined })).toBe('{"a":{"c":"x","d":[3,null]},"b":1}');
  });

  it('orders integer-like keys as strings, not the way JS objects enumerate them', () => {
    expect(canonicalJson({ 10: 'a', 9: 'b', x: 'c' })).toBe('{"10":"a","9":"b","x":"c"}');
  });

  it('writes dates as ISO strings', () => {
    expect(canonicalJson({ t: new Date('2025-01-02T03:04:05.678Z') })).toBe('{"t":"2025-01-02T03:04:05.678Z"}');
  });

  it('writes "__proto__" keys as the own properties they are', () => {
    const value = JSON.parse('{"b":1,"__proto__":{"z":2,"a":1}}') as unknown;
    expect(canonicalJson(value)).toBe('{"__proto__":{"a":1,"z":2},"b":1}');
  });

  it('equals a plain sorted serialisation for any JSON value', () => {
    // The configuration hash's canonical form, written independently, is the reference.
    const reference = canonicalize;
    // Keys that sort differently as strings and as JS enumerates them, and ones that need escaping.
    const key = fc.oneof(fc.string(), fc.constantFrom('10', '9', '0', '01', '-1', '__proto__', 'constructor', 'é', '\u0000', 'a"b'));
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
      array: fc.array(tie('value'), { maxLength: 5 }),
      object: fc.dictionary(key, tie('value'), { maxKeys: 6 }),
    })).value;
    fc.assert(
      fc.property(json, (v) => {
        // Through JSON text: what jsonb hands back, -0 as 0.
        const parsed = JSON.parse(JSON.stringify(v)) as unknown;
        expect(canonicalJson(parsed)).toBe(reference(parsed));
        // The value beside the text is what the text parses to, key order included.
        const form = canonicalForm(v);
        expect(form.value).toEqual(JSON.parse(form.text));
        expect(JSON.stringify(form.value)).toBe(JSON.stringify(JSON.parse(form.text)));
      }),
      { numRuns: 500 },
    );
    // Input that is not JSON is taken as JSON.stringify takes it.
    const odd = fc.oneof(fc.constantFrom(undefined, Number.NaN, Number.POSITIVE_INFINITY, -0, () => 1, Symbol('s')), fc.date({ noInvalidDate: true }), json);
    const oddValue = fc.oneof(fc.array(odd, { maxLength: 4 }), fc.dictionary(key, odd, { maxKeys: 4 }), fc.record({ toJSON: fc.constant(() => ({ b: 1, a: [2, undefined] })) }));
    fc.assert(
      fc.property(oddValue, (v) => {
        expect(canonicalJson(v)).toBe(reference(JSON.parse(JSON.stringify(v))));
      }),
      { numRuns: 300 },
    );
  });

  it('writes an array hole as null, as JSON.stringify does', () => {
    expect(canonicalJson([1, , 3])).toBe(JSON.stringify([1, , 3]));
  });

  it('gives the same text for an event whether its large fields come serialised or not', () => {
    const event = hashedFields({
      ...assetUpdate(randomUUID(), { comment: 'swap', violations: [{ rule: 'r', assetIds: ['b', 'a'] }] }),
      seq: 7, at: '2025-01-02T03:04:05.678Z', diff: [{ op: 'replace', path: '/config/unitId', value: 4 }],
    } as Parameters<typeof hashedFields>[0]);
    const whole = canonicalJson(event);
    expect(canonicalEventJson(event)).toBe(whole);
    const given = { actor: canonicalJson(event.actor), before: canonicalJson(event.before), after: canonicalJson(event.after), diff: canonicalJson(event.diff), violations: canonicalJson(event.violations) };
    expect(canonicalEventJson(event, given)).toBe(whole);
    // Every hashed field is in the text, in canonical order.
    expect(Object.keys(JSON.parse(whole) as object)).toEqual(Object.keys(event).sort());
  });
});

describe('appendAuditEvents', () => {
  it('builds a chain: consecutive seq, each prevHash the previous hash, hashes recomputable', async () => {
    const siteId = randomUUID();
    const first = await withTransaction(db.pool, (c) =>
      appendAuditEvents(c, [assetUpdate(siteId), assetUpdate(siteId, { action: 'create', before: null })]),
    );
    const second = await withTransaction(db.pool, (c) => appendAuditEvents(c, [assetUpdate(siteId, { action: 'delete', after: null })]));
    const chain = [...first, ...second];

    expect(chain.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(chain[0].prevHash).toBeNull();
    expect(chain[1].prevHash).toBe(chain[0].hash);
    expect(chain[2].prevHash).toBe(chain[1].hash);
    for (const e of chain) expect(e.hash).toBe(hashEvent(e.prevHash, e));
    expect((await verifyAuditChains(db.pool, { scope: `site:${siteId}` })).ok).toBe(true);
  });

  it('records a creation as the patch compare({}, after) gives, also for keys holding ~ and /', () => {
    const after = { id: 'x', 'a/b': 1, 'c~d': { e: [1, 2] }, '10': 'ten', name: 'M-1' };
    const head = new Map([['site:s', { seq: 0, hash: null }]]);
    const [event] = chainEvents([{ ...assetUpdate('s'), scope: 'site:s', before: null, after }], head).stored;
    expect(event.diff).toEqual(jsonPatch.compare({}, JSON.parse(canonicalJson(after)) as object));
  });

  it('chains events without an actor as stored with none', () => {
    const head = new Map([['site:s', { seq: 0, hash: null }]]);
    const input = { ...assetUpdate('s'), scope: 'site:s', actor: undefined as never };
    const { stored } = chainEvents([input, input], head);
    expect(stored.map((e) => e.actor)).toEqual([null, null]);
  });

  it('gives new events time-ordered ids (UUID version 7, the time of the insert first)', async () => {
    const before = Date.now();
    const events = await withTransaction(db.pool, (c) => appendAuditEvents(c, [assetUpdate(randomUUID()), assetUpdate(randomUUID())]));
    const after = Date.now();
    for (const { id } of events) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const ms = parseInt(id.replaceAll('-', '').slice(0, 12), 16);
      expect(ms).toBeGreaterThanOrEqual(before - 1000); // the database's clock, not this process's
      expect(ms).toBeLessThanOrEqual(after + 1000);
    }
  });

  it('records the JSON Patch between before and after', async () => {
    const [event] = await withTransaction(db.pool, (c) => appendAuditEvents(c, [assetUpdate(randomUUID())]));
    expect(event.diff).toEqual([{ op: 'replace', path: '/config/unitId', value: 4 }]);
  });

  it('stores exactly what it hashed, so awkward values survive the jsonb round trip', async () => {
    const siteId = randomUUID();
    const awkward = {
      b: 0.1, a: 1e21, tiny: 5e-324, neg: -0, text: 'Zürich ☃ "quoted" \\ \n', dropped: undefined,
      when: new Date('2025-06-01T12:00:00.001Z'), list: [undefined, null, { z: 1, y: [] }], 10: 'ten', 9: 'nine',
    };
    const [appended] = await withTransaction(db.pool, (c) =>
      appendAuditEvents(c, [assetUpdate(siteId, {
        after: awkward,
        actor: { ...alice, type: 'token', onBehalfOf: { type: 'user', id: 'u1', name: 'Ü' } },
        violations: [{ rule: 'unit-id-unique', assetIds: ['a', 'b'] }],
        comment: 'swap meters', sourceIp: '10.0.0.7', changesetId: randomUUID(), siteRevision: 2 ** 40,
      })]),
    );
    const { items } = await queryAuditEvents(db.pool, { siteId, limit: 10 });
    expect(items).toEqual([appended]);
    expect(hashEvent(items[0].prevHash, items[0])).toBe(items[0].hash);
  });

  it('chains scopes independently when one call touches several', async () => {
    const [s1, s2] = [randomUUID(), randomUUID()];
    const events = await withTransaction(db.pool, (c) =>
      appendAuditEvents(c, [assetUpdate(s1), assetUpdate(s2), assetUpdate(s1), { ...assetUpdate(s2), scope: `org:${s2}` }]),
    );
    expect(events.map((e) => [e.scope, e.seq])).toEqual([
      [`site:${s1}`, 1], [`site:${s2}`, 1], [`site:${s1}`, 2], [`org:${s2}`, 1],
    ]);
    expect(events[2].prevHash).toBe(events[0].hash);
  });

  it('leaves no trace when the caller rolls back, and the chain continues without a gap', async () => {
    const siteId = randomUUID();
    await expect(
      withTransaction(db.pool, async (c) => {
        await appendAuditEvents(c, [assetUpdate(siteId)]);
        throw new Error('validation failed after audit');
      }),
    ).rejects.toThrow('validation failed');
    const [event] = await withTransaction(db.pool, (c) => appendAuditEvents(c, [assetUpdate(siteId)]));
    expect(event.seq).toBe(1);
    expect(event.prevHash).toBeNull();
  });

  it('refuses an unknown outcome before touching the database', async () => {
    const bad = assetUpdate(randomUUID(), { outcome: 'maybe' as AuditOutcome });
    await expect(withTransaction(db.pool, (c) => appendAuditEvents(c, [bad]))).rejects.toThrow('invalid audit outcome');
  });
});

describe('concurrent appends to one scope', () => {
  it.each(['read committed', 'repeatable read', 'serializable'] as const)(
    'from 10 connections under %s give seq 1..N with no fork',
    async (isolation) => {
      const siteId = randomUUID();
      const perWorker = 15;
      await Promise.all(
        Array.from({ length: 10 }, (_, worker) =>
          (async () => {
            for (let i = 0; i < perWorker; i++) {
              const count = 1 + ((worker + i) % 3);
              await withTransaction(
                db.pool,
                (c) => appendAuditEvents(c, Array.from({ length: count }, () => assetUpdate(siteId, { comment: `w${worker}` }))),
                { isolation, retries: 50 },
              );
            }
          })(),
        ),
      );
      const expected = Array.from({ length: 10 }, (_, w) =>
        Array.from({ length: perWorker }, (_, i) => 1 + ((w + i) % 3)).reduce((a, b) => a + b, 0),
      ).reduce((a, b) => a + b, 0);
      const { rows } = await db.pool.query<{ seq: number; prev_hash: string | null; hash: string }>(
        'SELECT seq, prev_hash, hash FROM audit.events WHERE scope = $1 ORDER BY seq',
        [`site:${siteId}`],
      );
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: expected }, (_, i) => i + 1));
      // No fork: every hash is the prevHash of exactly the next event.
      const prevHashes = new Set(rows.map((r) => r.prev_hash));
      expect(prevHashes.size).toBe(rows.length);
      const result = await verifyAuditChains(db.pool, { scope: `site:${siteId}` });
      expect(result).toMatchObject({ ok: true, events: expected, problems: [] });
    },
  );
});
