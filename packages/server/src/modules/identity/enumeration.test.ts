import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type TestLoam, createTestLoam } from '../../test/harness.js';
import * as passwords from './passwords.js';
import { confirmedUser } from './testing.js';

// Watch the password verifications to prove an unknown user costs the same argon2 work.
vi.mock('./passwords.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('./passwords.js')>();
  return { ...actual, verifyPassword: vi.fn(actual.verifyPassword) };
});

/** User enumeration: neither the answer nor the work done may tell whether an account exists. */
describe('identity: no user enumeration', () => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ config: { rateLimitMultiplier: 1000 } });
    await confirmedUser(t, 'exists@example.com');
  });
  afterAll(() => t.close());

  const login = (username: string) =>
    t.app.inject({ method: 'POST', url: '/auth/login', payload: { username, password: 'not the password' } });

  it('login: same status, code and text; one argon2id verification either way (against a dummy hash when unknown)', async () => {
    const verify = vi.mocked(passwords.verifyPassword);
    verify.mockClear();
    const known = await login('exists@example.com');
    const unknown = await login('missing@example.com');
    expect(unknown.statusCode).toBe(known.statusCode);
    const strip = (b: Record<string, unknown>) => ({ ...b, request_id: undefined });
    expect(strip(unknown.json())).toEqual(strip(known.json()));
    expect(verify).toHaveBeenCalledTimes(2);
    const [knownHash] = verify.mock.calls[0];
    const [dummyHash] = verify.mock.calls[1];
    expect(knownHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(dummyHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(dummyHash).toBe(await passwords.dummyPasswordHash());
  });

  it('password reset and resend: the same answer for an existing and a missing account', async () => {
    for (const [url, key] of [
      ['/auth/password/reset', 'email'],
      ['/auth/signup/resend', 'username'],
    ] as const) {
      const a = await t.app.inject({ method: 'POST', url, payload: { [key]: 'exists@example.com' } });
      const b = await t.app.inject({ method: 'POST', url, payload: { [key]: 'emissing@example.com' } });
      expect(a.statusCode).toBe(200);
      expect(b.statusCode).toBe(200);
      expect(b.json()).toEqual(a.json());
    }
  });
});
