import { describe, expect, it } from 'vitest';
import { preference } from './prefer.ts';

describe('preference', () => {
  it('finds a preference among others, with parameters and spaces around =', () => {
    expect(preference('return=minimal', 'return')).toBe('minimal');
    expect(preference('respond-async, return=minimal; foo=bar', 'return')).toBe('minimal');
    expect(preference('RETURN = Minimal', 'return')).toBe('minimal');
    expect(preference('return="minimal"', 'return')).toBe('minimal');
    expect(preference(['wait=10', 'return=minimal'], 'return')).toBe('minimal');
  });

  it('takes only the first instance of a preference', () => {
    expect(preference('return=representation, return=minimal', 'return')).toBe('representation');
  });

  it('does not look inside quoted strings, and refuses unbalanced quotes', () => {
    expect(preference('foo="a,return=minimal"', 'return')).toBeUndefined();
    expect(preference('foo="a\\",return=minimal"', 'return')).toBeUndefined();
    expect(preference('return="minimal', 'return')).toBeUndefined();
    expect(preference('return=min"imal', 'return')).toBeUndefined();
  });

  it('says when the header or the preference is absent, and gives a bare name as empty', () => {
    expect(preference(undefined, 'return')).toBeUndefined();
    expect(preference('respond-async', 'return')).toBeUndefined();
    expect(preference('respond-async', 'respond-async')).toBe('');
  });
});
