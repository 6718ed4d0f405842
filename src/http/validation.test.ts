import { Ajv } from 'ajv';
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

  it("says what a nullable value that is not null failed, not that it matched no branch", () => {
    const ajv = new Ajv({ allErrors: true });
    const validate = ajv.compile({ type: 'object', properties: { serial: { anyOf: [{ type: 'string', pattern: '^[A-Z0-9]+$', maxLength: 4 }, { type: 'null' }] } } });
    validate({ serial: 'SN 42' });
    expect(toFieldErrors('body', validate.errors ?? [])).toEqual([{ in: 'body', path: '/serial', message: 'must NOT have more than 4 characters; must match pattern "^[A-Z0-9]+$"' }]);
  });

  it('lists the allowed values of an enum', () => {
    expect(
      toFieldErrors('querystring', [
        { keyword: 'enum', instancePath: '/kind', schemaPath: '#/properties/kind/enum', params: { allowedValues: ['gateway', 'meter'] } },
      ]),
    ).toEqual([{ in: 'querystring', path: '/kind', message: 'must be one of ["gateway","meter"]' }]);
  });

  it('gives the union of each array item its own branches, also with a union nested in an item', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile({
      type: 'array',
      items: {
        anyOf: [
          { type: 'object', properties: { op: { const: 'a' }, v: { anyOf: [{ type: 'string' }, { type: 'null' }] } }, required: ['op'] },
          { type: 'object', properties: { op: { const: 'b' } }, required: ['op'] },
        ],
      },
    });
    expect(validate([5, { op: 'c' }, { op: 'a', v: 3 }, { op: 'b' }])).toBe(false);
    expect(toFieldErrors('body', validate.errors ?? [])).toEqual([
      { in: 'body', path: '/0', message: 'must be object' },
      { in: 'body', path: '/1', message: 'must be one of ["a","b"]' },
      // Item 2 fails one branch on its op and the other on its nested union: no one message says both.
      { in: 'body', path: '/2', message: 'must match a schema in anyOf' },
    ]);
  });
});
