import { randomBytes } from 'node:crypto';
import { hash, verify, type Algorithm } from '@node-rs/argon2';

/** Argon2id at the OWASP baseline (19 MiB, 2 passes, 1 lane): about 20–40 ms per hash here. */
const ARGON2ID = { algorithm: 2 as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

/** The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) to store for `password`. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2ID);
}

/** A hash of nothing anyone knows, verified against for unknown accounts so they take as long as known ones. */
let decoy: Promise<string> | undefined;

/**
 * Whether `password` matches `stored`. With no stored hash (unknown account, no password set)
 * it still runs one Argon2id verification, against a decoy, and answers false: a wrong email
 * costs the same time as a wrong password.
 *
 * @example
 * if (!(await verifyPassword(user?.passwordHash ?? null, body.password))) throw invalidCredentials();
 */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  decoy ??= hashPassword(randomBytes(32).toString('base64url'));
  const target = stored ?? (await decoy);
  try {
    const ok = await verify(target, password);
    return stored !== null && ok;
  } catch {
    return false; // a malformed stored hash never authenticates
  }
}

/** A random password for people to type once and change: 20 characters of base64url (120 bits). */
export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}
