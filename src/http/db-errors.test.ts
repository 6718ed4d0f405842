import { describe, expect, it } from 'vitest';
import { constraintViolation, isDatabaseUnavailable } from './db-errors.ts';

const pgError = (code: string, message = 'pg error') => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it('recognises socket errors, connection-class SQLSTATEs and pg connection messages', () => {
    expect(isDatabaseUnavailable(pgError('ECONNREFUSED'))).toBe(true);
    expect(isDatabaseUnavailable(pgError('08006'))).toBe(true);
    expect(isDatabaseUnavailable(pgError('57P01'))).toBe(true);
    expect(isDatabaseUnavailable(pgError('57P03'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated due to connection timeout'))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([pgError('ECONNREFUSED')], 'connect failed'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('pool failed', { cause: pgError('ETIMEDOUT') }))).toBe(true);
  });

  it('leaves bugs and refusals alone', () => {
    expect(isDatabaseUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(isDatabaseUnavailable(pgError('23505'))).toBe(false);
    expect(isDatabaseUnavailable(pgError('42P01', 'relation "assets" does not exist'))).toBe(false);
  });
});

describe('constraintViolation', () => {
  it('returns the facts of an integrity constraint violation', () => {
    const error = Object.assign(pgError('23503'), { constraint: 'assets_site_fk', table: 'assets', detail: 'Key (site_id)=(s9) is not present.' });
    expect(constraintViolation(error)).toEqual({ sqlState: '23503', constraint: 'assets_site_fk', table: 'assets', detail: 'Key (site_id)=(s9) is not present.' });
  });

  it('leaves out the failing row a check or not-null violation details, server-made values and all', () => {
    for (const code of ['23514', '23502']) {
      const error = Object.assign(pgError(code), { constraint: 'api_tokens_name_check', table: 'api_tokens', detail: 'Failing row contains (7c1…, 1f2…, sha256-prefix, …).' });
      expect(constraintViolation(error)).toEqual({ sqlState: code, constraint: 'api_tokens_name_check', table: 'api_tokens', detail: undefined });
    }
  });

  it('ignores other errors', () => {
    expect(constraintViolation(pgError('40001'))).toBeUndefined();
    expect(constraintViolation(new Error('x'))).toBeUndefined();
  });
});
