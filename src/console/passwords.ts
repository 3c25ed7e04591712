/** Password rule and hashing (argon2id, OWASP parameters of @node-rs/argon2's defaults). */
import { hash, verify } from '@node-rs/argon2';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const dumbPasswords = require('dumb-passwords') as { check(p: string): boolean };

export const PASSWORD_RULE = 'Use at least 12 characters. Common passwords (like "password123456") are refused; a few random words make a good password.';

/** Returns why a password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string, email?: string): string | undefined {
  if (typeof password !== 'string' || password.length < 12) return 'The password must have at least 12 characters.';
  if (password.length > 256) return 'The password must have at most 256 characters.';
  const lower = password.toLowerCase();
  const stripped = lower.replace(/[\d\W_]+$/u, '').replace(/^[\d\W_]+/u, '');
  if (dumbPasswords.check(lower) || (stripped.length >= 4 && dumbPasswords.check(stripped)) || /^(.)\1+$/u.test(password) || /^(0123456789|1234567890|abcdefghijkl|qwertyuiop)/.test(lower)) {
    return 'This password is too common: it appears in lists of passwords attackers try first.';
  }
  const local = email?.split('@')[0]?.toLowerCase();
  if (local && local.length >= 4 && lower.includes(local)) return 'The password must not contain your email address.';
  return undefined;
}

export const hashPassword = (password: string): Promise<string> => hash(password);

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/** A hash to verify against when the account does not exist, so timing does not reveal it. */
let dummy: Promise<string> | undefined;
export const dummyHash = (): Promise<string> => (dummy ??= hash('not-a-real-password-0000'));
