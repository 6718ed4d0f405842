import { describe, expect, it, vi } from 'vitest';
import { generatePassword, hashPassword, verifyPassword } from './passwords.ts';

const verifySpy = vi.hoisted(() => vi.fn());
vi.mock('@node-rs/argon2', async (importOriginal) => {
  const real = await importOriginal<typeof import('@node-rs/argon2')>();
  verifySpy.mockImplementation(real.verify);
  return { ...real, verify: verifySpy };
});

describe('passwords', () => {
  it('stores Argon2id hashes that verify the password and nothing else', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(stored).not.toContain('correct horse');
    expect(await verifyPassword(stored, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(stored, 'correct horse battery stapler')).toBe(false);
  });

  it('answers false for an unknown account after one Argon2id verification at the same cost as a known one', async () => {
    // Equal work, not wall-clock time, is what keeps a wrong email as slow as a wrong password:
    // count the verifications and compare the cost parameters of the hashes they ran against.
    const stored = await hashPassword('pw-of-a-real-user');
    verifySpy.mockClear();
    expect(await verifyPassword(stored, 'wrong')).toBe(false);
    expect(await verifyPassword(null, 'wrong')).toBe(false);
    expect(verifySpy).toHaveBeenCalledTimes(2);
    const [knownHash, decoyHash] = verifySpy.mock.calls.map((c) => String(c[0]));
    const params = (h: string) => h.split('$').slice(1, 4).join('$'); // argon2id$v=19$m=…,t=…,p=…
    expect(params(decoyHash)).toBe(params(knownHash));
    expect(decoyHash).not.toBe(knownHash);
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
