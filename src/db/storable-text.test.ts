import { describe, expect, it } from 'vitest';
import { storableText, unstorableValues } from './storable-text.ts';

const unstorableText = (value: unknown, limit?: number) => unstorableValues(value, limit).map((v) => `${v.what}:${v.path}`);

describe('unstorableValues', () => {
  it('finds NUL and unpaired surrogates in strings and property names, as JSON Pointers', () => {
    expect(unstorableText({ name: 'a\u0000b', tags: ['ok', '\ud800', 'x\udfffy'], ['k/\u0000']: 1, deep: { er: [{ s: '\udc00' }] } })).toEqual([
      'text:/name',
      'text:/tags/1',
      'text:/tags/2',
      'text:/k~1\u0000',
      'text:/deep/er/0/s',
    ]);
  });

  it('finds numbers that are not finite: what JSON.parse makes of 1e999, and NaN', () => {
    expect(unstorableText(JSON.parse('{"a":1e999,"b":[-1e999,1.7976931348623157e308,0,-0.5],"c":{"d":5e-999}}'))).toEqual(['number:/a', 'number:/b/0']);
    expect(unstorableText({ n: Number.NaN })).toEqual(['number:/n']);
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
    expect(unstorableText(Array(50).fill('\u0000'), 3)).toEqual(['text:/0', 'text:/1', 'text:/2']);
  });
});

describe('storableText', () => {
  it('replaces NUL and unpaired surrogates with U+FFFD and keeps everything else', () => {
    expect(storableText('a\u0000b\ud800c\udfff😀')).toBe('a\ufffdb\ufffdc\ufffd😀');
    expect(storableText('fine Ω 田中')).toBe('fine Ω 田中');
  });
});
