import { describe, expect, it } from 'vitest';
import { storableText, unstorableText } from './storable-text.ts';

describe('unstorableText', () => {
  it('finds NUL and unpaired surrogates in strings and property names, as JSON Pointers', () => {
    expect(unstorableText({ name: 'a\u0000b', tags: ['ok', '\ud800', 'x\udfffy'], ['k/\u0000']: 1, deep: { er: [{ s: '\udc00' }] } })).toEqual([
      '/name',
      '/tags/1',
      '/tags/2',
      '/k~1\u0000',
      '/deep/er/0/s',
    ]);
  });

  it('accepts every other text: paired surrogates (emoji), other control characters, right-to-left marks', () => {
    expect(unstorableText({ a: '😀', b: '\u0007\u202e\ufeff', c: 'Ω田中', d: ['%00', '\\u0000'] })).toEqual([]);
  });

  it('looks only into plain data, not into a stream a proxying route keeps as its body, and survives cycles', () => {
    const stream = { name: 'a\u0000b', pipe: () => undefined };
    const cyclic: Record<string, unknown> = { name: 'ok' };
    cyclic.self = cyclic;
    expect(unstorableText({ body: stream, cyclic })).toEqual([]);
  });

  it('stops at the limit', () => {
    expect(unstorableText(Array(50).fill('\u0000'), 3)).toEqual(['/0', '/1', '/2']);
  });
});

describe('storableText', () => {
  it('replaces NUL and unpaired surrogates with U+FFFD and keeps everything else', () => {
    expect(storableText('a\u0000b\ud800c\udfff😀')).toBe('a\ufffdb\ufffdc\ufffd😀');
    expect(storableText('fine Ω 田中')).toBe('fine Ω 田中');
  });
});
