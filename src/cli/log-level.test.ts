import { describe, expect, it } from 'vitest';
import { loggerFromEnv } from './log-level.ts';

describe('loggerFromEnv', () => {
  it('logs warnings and errors when unset, requests too with 1, nothing with 0', () => {
    expect(loggerFromEnv(undefined)).toEqual({ level: 'warn' });
    expect(loggerFromEnv('')).toEqual({ level: 'warn' });
    expect(loggerFromEnv(' 1 ')).toEqual({ level: 'info' });
    expect(loggerFromEnv('0')).toBe(false);
  });

  it('refuses anything else, naming the values it takes', () => {
    expect(() => loggerFromEnv('yes')).toThrow(/REMA_LOG must be 1 .*0 .*unset.*got "yes"/);
    expect(() => loggerFromEnv('debug')).toThrow(/got "debug"/);
  });
});
