import { type Options, hash, verify } from '@node-rs/argon2';
import { type FieldError, badRequest } from '../../platform/errors.js';

/** OWASP Password Storage Cheat Sheet, first choice: argon2id, m = 19 MiB, t = 2, p = 1. */
const ARGON2ID: Options = { algorithm: 2 /* Algorithm.Argon2id (a const enum) */, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export const MIN_PASSWORD_LENGTH = 8;
/** Bounds the work an attacker can make one hash cost. */
export const MAX_PASSWORD_LENGTH = 256;

export const hashPassword = (password: string): Promise<string> => hash(password, ARGON2ID);

/** Never throws: a malformed stored hash counts as a mismatch. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/**
 * Verifying against this for unknown users makes a login for a missing account cost the same
 * time as one with a wrong password, so timing does not tell which accounts exist.
 */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(`dummy-${Math.random()}`);
  return dummyHash;
}

/** The minimum policy: length 8–256 and not the email address. Throws 400 validation_error. */
export function checkPasswordPolicy(password: string, email: string, field = 'password'): void {
  const problems: FieldError[] = [];
  if ([...password].length < MIN_PASSWORD_LENGTH)
    problems.push({ field, code: 'out_of_range', message: `${field} must be at least ${MIN_PASSWORD_LENGTH} characters` });
  if (password.length > MAX_PASSWORD_LENGTH)
    problems.push({ field, code: 'out_of_range', message: `${field} must be at most ${MAX_PASSWORD_LENGTH} characters` });
  if (password.trim().toLowerCase() === email.trim().toLowerCase())
    problems.push({ field, code: 'invalid_value', message: `${field} must not be the email address` });
  if (problems.length > 0) throw badRequest(`Weak password: ${problems.map((p) => p.message).join('; ')}`, problems);
}
