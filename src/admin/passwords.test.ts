import { describe, expect, it } from 'vitest';
import { generatePassword, hashPassword, verifyPassword } from './passwords.ts';

describe('passwords', () => {
  it('stores Argon2id hashes that verify the password and nothing else', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(stored).not.toContain('correct horse');
    expect(await verifyPassword(stored, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(stored, 'correct horse battery stapler')).toBe(false);
  });

  it('answers false for an unknown account after spending about as long as for a known one', async () => {
    const stored = await hashPassword('pw-of-a-real-user');
    await verifyPassword(null, 'warm-up'); // the decoy is hashed once, on first use
    const time = async (fn: () => Promise<boolean>) => {
      const start = performance.now();
      expect(await fn()).toBe(false);
      return performance.now() - start;
    };
    const known = await time(() => verifyPassword(stored, 'wrong'));
    const unknown = await time(() => verifyPassword(null, 'wrong'));
    expect(unknown).toBeGreaterThan(known / 4);
    expect(unknown).toBeLessThan(known * 4 + 20);
  });

  it('never authenticates against a malformed hash', async () => {
    expect(await verifyPassword('not-a-hash', 'anything')).toBe(false);
  });

  it('generates 20-character random passwords', () => {
    const a = generatePassword();
    expect(a).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(generatePassword()).not.toBe(a);
  });
});
