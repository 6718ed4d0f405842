import { describe, expect, it } from 'vitest';
import { toFieldErrors } from './validation.ts';

describe('toFieldErrors', () => {
  it('points required and unknown properties at the property itself, escaping ~ and /', () => {
    expect(
      toFieldErrors('body', [
        { keyword: 'required', instancePath: '/ports/0', schemaPath: '#/required', params: { missingProperty: 'a/b~c' } },
        { keyword: 'additionalProperties', instancePath: '', schemaPath: '#/additionalProperties', params: { additionalProperty: 'typo' } },
      ]),
    ).toEqual([
      { in: 'body', path: '/ports/0/a~1b~0c', message: 'is required' },
      { in: 'body', path: '/typo', message: 'is not a known property' },
    ]);
  });

  it('folds the branch errors of a union into one message', () => {
    const errors = toFieldErrors('body', [
      { keyword: 'const', instancePath: '/parity', schemaPath: '#/properties/parity/anyOf/0/const', params: { allowedValue: 'none' }, message: 'must be equal to constant' },
      { keyword: 'const', instancePath: '/parity', schemaPath: '#/properties/parity/anyOf/1/const', params: { allowedValue: 'even' }, message: 'must be equal to constant' },
      { keyword: 'anyOf', instancePath: '/parity', schemaPath: '#/properties/parity/anyOf', params: {}, message: 'must match a schema in anyOf' },
    ]);
    expect(errors).toEqual([{ in: 'body', path: '/parity', message: 'must be one of ["none","even"]' }]);
  });

  it('lists the allowed values of an enum', () => {
    expect(
      toFieldErrors('querystring', [
        { keyword: 'enum', instancePath: '/kind', schemaPath: '#/properties/kind/enum', params: { allowedValues: ['gateway', 'meter'] } },
      ]),
    ).toEqual([{ in: 'querystring', path: '/kind', message: 'must be one of ["gateway","meter"]' }]);
  });
});
