/**
 * Text PostgreSQL cannot store: U+0000 (refused in `text` and `jsonb`) and unpaired UTF-16
 * surrogates (not Unicode scalar values: `jsonb` refuses their `\ud800` escapes, `text` would
 * silently get U+FFFD instead). JSON, URLs and MQTT payloads can carry both: requests holding
 * them are refused (src/http/storable-text-check.ts), free text from devices is cleaned.
 */

const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');
/** What any such text holds, found far faster than by {@link UNSTORABLE}'s look-arounds: most text holds neither. */
const SUSPECT = /[\u0000\ud800-\udfff]/;
const unstorable = (text: string) => SUSPECT.test(text) && UNSTORABLE.test(text);

/**
 * `text` with every NUL and unpaired surrogate replaced by U+FFFD: for free text from devices
 * (a gateway's rejection reason), which is kept rather than refused.
 *
 * @example
 * storableText('bad\u0000reason'); // 'bad\ufffdreason'
 */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE_ALL, '\ufffd');
}

/** Parsed JSON nests at most 64 deep (json-body.ts); anything deeper is no parsed JSON. */
const MAX_DEPTH = 100;

/**
 * Parsed JSON, query strings and path parameters are plain data (fastify makes the latter two
 * with null-prototype objects); a raw request stream that a proxying route keeps as its body,
 * or any other object with behaviour, is not looked into.
 */
function isPlainData(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return false;
  return typeof (v as { pipe?: unknown }).pipe !== 'function' && typeof (v as { on?: unknown }).on !== 'function';
}

/** Escapes a property name for a JSON Pointer (RFC 6901). */
const escape = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/** Where a value PostgreSQL cannot store is, and what it is. */
export interface UnstorableValue {
  /** JSON Pointer to it. */
  path: string;
  /** `text`: a string or property name holding NUL or an unpaired surrogate; `number`: Infinity or NaN. */
  what: 'text' | 'number';
}

/**
 * Every value in `value` that PostgreSQL cannot store, at most `limit` of them: strings and
 * property names holding NUL or unpaired surrogates, and numbers that are not finite — a JSON
 * number beyond a double's range (`1e999`) parses as Infinity, which JSON cannot write back
 * (`JSON.stringify` makes it `null`), so it would be stored as something other than was sent.
 *
 * @example
 * unstorableValues({ name: 'a\u0000b', tags: ['ok', '\ud800'], max: 1e999 });
 * // [{ path: '/name', what: 'text' }, { path: '/tags/1', what: 'text' }, { path: '/max', what: 'number' }]
 */
export function unstorableValues(value: unknown, limit = 20): UnstorableValue[] {
  const found: UnstorableValue[] = [];
  // The path to the value being looked at: a pointer is only made of it for what is found, so a
  // request with nothing wrong costs no string per property.
  const path: string[] = [];
  const pointer = (last?: string) => (last === undefined ? path : [...path, last]).map((segment) => `/${escape(segment)}`).join('');
  let seen: WeakSet<object> | undefined;
  const walk = (v: unknown, depth: number) => {
    if (found.length >= limit || depth > MAX_DEPTH) return;
    if (typeof v === 'string') {
      if (unstorable(v)) found.push({ path: pointer(), what: 'text' });
      return;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) found.push({ path: pointer(), what: 'number' });
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    seen ??= new WeakSet();
    if (seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(String(i));
        walk(v[i], depth + 1);
        path.pop();
      }
    } else if (isPlainData(v)) {
      for (const key in v) {
        if (!Object.hasOwn(v, key)) continue;
        if (unstorable(key)) found.push({ path: pointer(key), what: 'text' });
        path.push(key);
        walk(v[key], depth + 1);
        path.pop();
      }
    }
  };
  walk(value, 0);
  return found.slice(0, limit);
}
