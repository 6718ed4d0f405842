import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.ts';
import { assertVersion, etagOf, parseEtag, parseIfMatch } from './etag.ts';

function thrown(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected an ApiError');
}

describe('etagOf', () => {
  it('names kind, id and version in a strong tag that parses back', () => {
    const tag = etagOf('asset', '3f2c9a-11-v2', 7);
    expect(tag).toBe('"asset-3f2c9a-11-v2-v7"');
    expect(parseEtag(tag)).toEqual({ kind: 'asset', id: '3f2c9a-11-v2', version: 7 });
  });

  it('refuses parts that would make the tag ambiguous or not header-safe', () => {
    expect(() => etagOf('asset-x', 'a', 1)).toThrow(TypeError);
    expect(() => etagOf('asset', 'a"b', 1)).toThrow(TypeError);
    expect(() => etagOf('asset', 'a', -1)).toThrow(TypeError);
    expect(() => etagOf('asset', 'a', 1.5)).toThrow(TypeError);
  });
});

describe('parseIfMatch', () => {
  it('returns the version of a strong ETag', () => {
    expect(parseIfMatch('"site-s1-v12"')).toBe(12);
    expect(parseIfMatch(' "site-s1-v0" ', { kind: 'site', id: 's1' })).toBe(0);
  });

  it('answers a missing header with 428 PRECONDITION_REQUIRED', () => {
    expect(thrown(() => parseIfMatch(undefined))).toMatchObject({ code: 'PRECONDITION_REQUIRED', status: 428 });
    expect(thrown(() => parseIfMatch('  '))).toMatchObject({ code: 'PRECONDITION_REQUIRED' });
  });

  it('refuses a weak ETag with 400 explaining a strong one is needed', () => {
    const error = thrown(() => parseIfMatch('W/"site-s1-v3"'));
    expect(error).toMatchObject({ code: 'INVALID_ETAG', status: 400 });
    expect(error.detail).toMatch(/weak/i);
  });

  it('refuses * with 400 asking for a concrete version', () => {
    const error = thrown(() => parseIfMatch('*'));
    expect(error).toMatchObject({ code: 'INVALID_ETAG', status: 400 });
    expect(error.detail).toMatch(/exact version/);
  });

  it('refuses malformed values and lists of tags with 400', () => {
    for (const header of ['site-s1-v3', '"3"', '"site-s1-vx"', '"site-s1-v3", "site-s1-v4"', ['"site-s1-v3"', '"site-s1-v4"']]) {
      expect(thrown(() => parseIfMatch(header))).toMatchObject({ code: 'INVALID_ETAG' });
    }
  });

  it('refuses a version written with leading zeros, which no ETag of this API has', () => {
    for (const header of ['"site-s1-v01"', '"site-s1-v00"']) expect(thrown(() => parseIfMatch(header))).toMatchObject({ code: 'INVALID_ETAG' });
    expect(parseIfMatch('"site-s1-v0"')).toBe(0);
    expect(parseIfMatch('"site-s1-v10"')).toBe(10);
  });

  it('answers a tag of another resource with 412', () => {
    const error = thrown(() => parseIfMatch('"asset-a1-v3"', { kind: 'asset', id: 'a2' }));
    expect(error).toMatchObject({ code: 'PRECONDITION_FAILED', status: 412 });
  });
});

describe('assertVersion', () => {
  it('passes when the expected version is current', () => {
    expect(() => assertVersion(4, 4, '"asset-a-v4"')).not.toThrow();
  });

  it('answers a stale version with 412 carrying the current ETag', () => {
    const error = thrown(() => assertVersion(3, 5, '"asset-a-v5"'));
    expect(error).toMatchObject({ code: 'PRECONDITION_FAILED', status: 412, extra: { currentEtag: '"asset-a-v5"' } });
  });
});
