/** What attackers send everywhere: strings, values, ids, ETags, cursors, tokens, content types. */
import type { HostileFixture } from './openapi-requests.ts';

/** Strings an attacker tries everywhere. */
export const NASTY_STRINGS = [
  '',
  ' ',
  "' OR '1'='1",
  "'; DROP TABLE config.assets; --",
  '") OR 1=1 --',
  '$where: 1',
  '{"$gt": ""}',
  '<script>alert(1)</script>',
  '{{7*7}}${7*7}',
  '${jndi:ldap://127.0.0.1/x}',
  '../../../../etc/passwd',
  '%00',
  'a\u0000b',
  '\u0000',
  '\ud800',
  'x\udfffy',
  '\u202eevil',
  '\u200b\u200b',
  '\ufeffbom',
  '😀'.repeat(50),
  'Ω≈ç√∫˜µ≤≥÷',
  '田中さんにあげて下さい',
  'line\nbreak\r\nand\ttab',
  '\u0007\u001b[31mred',
  'null',
  'true',
  '-1',
  'NaN',
  '1e309',
  '__proto__',
  'constructor',
  'x'.repeat(10_000),
];

export const NASTY_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, -0, 1e308, -1e308, 2 ** 53 + 1, 99999999999999999999, [], [null], {}, { a: 1 }, '', 'x'];

export const BAD_IDS = [
  'not-a-uuid',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  "1' OR '1'='1",
  '..%2F..%2Fetc%2Fpasswd',
  '%00',
  '%2500',
  '%E2%80%AE',
  '%F0%9F%98%80',
  '%ED%A0%80',
  '%C3%28',
  'x'.repeat(300),
  '-1',
  '1e3',
  'NaN',
  '%20',
  'null',
  'undefined',
  '%7B%7D',
];

export const BAD_ETAGS = ['*', 'W/"asset-x-v1"', '"a", "b"', 'garbage', '""', '"asset--v1"', '"asset-x-v-1"', '"asset-x-v1e3"', `"${'x'.repeat(5000)}"`, '"asset-\u00e9-v1"', 'W/*', '"site-00000000-0000-4000-8000-000000000001-v1"'];

export const BAD_CURSORS = (f: HostileFixture) => [
  'x',
  '',
  'eyJhdCI6IngiLCJpZCI6InkifQ',
  Buffer.from('{"at":"2020-01-01T00:00:00.000000Z","id":"\' OR 1=1 --"}').toString('base64url'),
  Buffer.from('{"at":"not a date","id":"00000000-0000-0000-0000-000000000000"}').toString('base64url'),
  Buffer.from('[1,2,3]').toString('base64url'),
  Buffer.from('null').toString('base64url'),
  Buffer.from('{"__proto__":{"x":1}}').toString('base64url'),
  '%00',
  'A'.repeat(5000),
  f.auditCursor,
  `${f.auditCursor}x`,
];

export const BAD_TOKENS = [
  '',
  'x',
  'rema_',
  `rema_${'A'.repeat(32)}`,
  `rema_${'A'.repeat(5000)}`,
  'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
  'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4Iiwia2luZCI6InNlcnZpY2UifQ.c2ln',
  "' OR 1=1 --",
  '\u00e9\u00e9',
];

export const CONTENT_TYPES = ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/javascript', 'json', 'application/jsonp', 'text/json'];
