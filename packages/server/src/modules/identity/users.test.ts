import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { PASSWORD, bearer, confirmedUser, eventsOf, latestCode, login, signup } from './testing.js';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const atriumnError = (code: string) => ({ error: code, error_description: expect.any(String), request_id: expect.any(String) });

/** Contract §3, user lines: status, keys and types of every answer. */
describeEachDialect('identity: users (Atriumn §3)', (dialect) => {
  let t: TestLoam;
  const clock = new ManualClock(Date.now());
  beforeAll(async () => {
    t = await createTestLoam({ dialect, clock, config: { rateLimitMultiplier: 1000 } });
  });
  afterAll(() => t.close());

  describe('POST /auth/signup', () => {
    it('201 {user_id} and mails a six-digit code', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/auth/signup', payload: { email: 'Signup@Example.com', password: PASSWORD } });
      expect(res.statusCode).toBe(201);
      expect(Object.keys(res.json())).toEqual(['user_id']);
      expect(res.json().user_id).toMatch(/^usr_[A-Za-z0-9]+$/);
      expect(await latestCode(t, 'signup@example.com')).toMatch(/^\d{6}$/);
      const [event] = (await eventsOf(t, 'user.signed_up')).filter((e) => e.subject === res.json().user_id);
      expect(event.data).toMatchObject({ actor: res.json().user_id, actor_kind: 'user', ip: '127.0.0.1', user_id: res.json().user_id });
      expect(JSON.stringify(event.data)).not.toContain(PASSWORD);
    });

    it('409 conflict for an email already registered (any case)', async () => {
      await signup(t, 'dup@example.com');
      const res = await t.app.inject({ method: 'POST', url: '/auth/signup', payload: { email: 'DUP@example.com', password: PASSWORD } });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toEqual(atriumnError('conflict'));
    });

    it('400 validation_error for a short password or one equal to the email', async () => {
      const short = await t.app.inject({
        method: 'POST',
        url: '/auth/signup',
        payload: { email: 'weak@example.com', password: 'short12' },
      });
      expect(short.statusCode).toBe(400);
      expect(short.json()).toEqual(atriumnError('validation_error'));
      expect(short.json().error_description).toMatch(/at least 8/);
      const same = await t.app.inject({
        method: 'POST',
        url: '/auth/signup',
        payload: { email: 'same.as.email@example.com', password: 'Same.As.Email@example.com' },
      });
      expect(same.statusCode).toBe(400);
      expect(same.json().error).toBe('validation_error');
      expect(same.json().error_description).toMatch(/email/);
    });

    it('400 validation_error for a missing or malformed email, non-string attributes, reserved attributes', async () => {
      for (const payload of [
        { password: PASSWORD },
        { email: 'not-an-email', password: PASSWORD },
        { email: 'attr@example.com', password: PASSWORD, attributes: { n: { x: 1 } } },
        { email: 'attr@example.com', password: PASSWORD, attributes: { sub: 'x' } },
      ]) {
        const res = await t.app.inject({ method: 'POST', url: '/auth/signup', payload });
        expect(res.statusCode, JSON.stringify(payload)).toBe(400);
        expect(res.json().error).toBe('validation_error');
      }
    });

    it('self-signup cannot pick another tenant; an admin can, if it exists (no route creates a tenant)', async () => {
      const self = await t.app.inject({
        method: 'POST',
        url: '/auth/signup',
        payload: { email: 'intruder@example.com', password: PASSWORD, attributes: { tenant_id: 'acme' } },
      });
      expect(self.statusCode).toBe(403);
      expect(self.json().error).toBe('forbidden');
      const signupIn = (tenant: string) => ({ email: 'member@acme.test', password: PASSWORD, tenant_id: tenant });
      const unknown = await t.app.inject({ method: 'POST', url: '/auth/signup', headers: t.admin, payload: signupIn('acme') });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().error).toBe('tenant_not_found');
      await t.loam.platform.transaction((tx) => t.loam.services.tenants.ensure(tx, 'acme', 'Acme'));
      const byAdmin = await t.app.inject({
        method: 'POST',
        url: '/auth/signup',
        headers: t.admin,
        payload: signupIn('acme'),
      });
      expect(byAdmin.statusCode).toBe(201);
      const code = await latestCode(t, 'member@acme.test');
      await t.app.inject({
        method: 'POST',
        url: '/auth/signup/confirm',
        payload: { username: 'member@acme.test', confirmation_code: code },
      });
      const me = await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer((await login(t, 'member@acme.test')).access_token) });
      expect(me.json().attributes.tenant_id).toBe('acme');
    });
  });

  describe('POST /auth/signup/confirm', () => {
    it('200 {status:"ok"} with the mailed code; the code is single use', async () => {
      await signup(t, 'confirm@example.com');
      const code = await latestCode(t, 'confirm@example.com');
      const ok = await t.app.inject({
        method: 'POST',
        url: '/auth/signup/confirm',
        payload: { username: 'confirm@example.com', confirmation_code: code },
      });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toEqual({ status: 'ok' });
      const again = await t.app.inject({
        method: 'POST',
        url: '/auth/signup/confirm',
        payload: { username: 'confirm@example.com', confirmation_code: code },
      });
      expect(again.statusCode).toBe(400);
      expect(again.json().error).toBe('code_mismatch');
      expect((await eventsOf(t, 'user.confirmed')).some((e) => e.data.actor && e.data.ip)).toBe(true);
    });

    it('400 code_mismatch for a wrong code; after five wrong tries even the right code is refused', async () => {
      await signup(t, 'tries@example.com');
      const code = await latestCode(t, 'tries@example.com');
      const wrong = code === '000000' ? '111111' : '000000';
      for (let i = 0; i < 5; i++) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/auth/signup/confirm',
          payload: { username: 'tries@example.com', confirmation_code: wrong },
        });
        expect(res.statusCode).toBe(400);
        expect(res.json()).toEqual(atriumnError('code_mismatch'));
      }
      const right = await t.app.inject({
        method: 'POST',
        url: '/auth/signup/confirm',
        payload: { username: 'tries@example.com', confirmation_code: code },
      });
      expect(right.statusCode).toBe(400);
      expect(right.json().error).toBe('expired_code');
    });

    it('400 expired_code after 24 hours', async () => {
      await signup(t, 'late@example.com');
      const code = await latestCode(t, 'late@example.com');
      clock.advance(24 * 3600_000 + 1000);
      const res = await t.app.inject({
        method: 'POST',
        url: '/auth/signup/confirm',
        payload: { username: 'late@example.com', confirmation_code: code },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual(atriumnError('expired_code'));
    });
  });

  describe('POST /auth/signup/resend', () => {
    it('200 {codeDeliveryDetails} (camelCase) with a masked destination; the new code replaces the old', async () => {
      await signup(t, 'test@example.com');
      const first = await latestCode(t, 'test@example.com');
      const res = await t.app.inject({ method: 'POST', url: '/auth/signup/resend', payload: { username: 'test@example.com' } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        codeDeliveryDetails: { destination: 't***@e***.com', delivery_medium: 'EMAIL', attribute_name: 'email' },
      });
      const second = await latestCode(t, 'test@example.com');
      if (first !== second) {
        const old = await t.app.inject({
          method: 'POST',
          url: '/auth/signup/confirm',
          payload: { username: 'test@example.com', confirmation_code: first },
        });
        expect(old.json().error).toBe('code_mismatch');
      }
      const ok = await t.app.inject({
        method: 'POST',
        url: '/auth/signup/confirm',
        payload: { username: 'test@example.com', confirmation_code: second },
      });
      expect(ok.statusCode).toBe(200);
    });

    it('the same answer for an unknown username', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/auth/signup/resend', payload: { username: 'nobody@nowhere.org' } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        codeDeliveryDetails: { destination: 'n***@n***.org', delivery_medium: 'EMAIL', attribute_name: 'email' },
      });
    });
  });

  describe('POST /auth/login', () => {
    beforeAll(async () => {
      await confirmedUser(t, 'login@example.com');
    });

    it('200 TokenResponse from a JSON body', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { username: 'login@example.com', password: PASSWORD },
      });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
      expect(Number.isInteger(body.expires_in)).toBe(true);
      expect(res.body).toContain('"expires_in":3600');
      for (const k of ['access_token', 'id_token', 'refresh_token']) expect(typeof body[k]).toBe('string');
      expect(res.headers['cache-control']).toBe('no-store');
      const issued = await eventsOf(t, 'token.issued');
      expect(issued.at(-1)?.data).toMatchObject({ actor_kind: 'user', grant_type: 'password', jti: expect.any(String), ip: '127.0.0.1' });
      expect(JSON.stringify(issued.at(-1)?.data)).not.toContain(body.access_token);
      expect((await eventsOf(t, 'user.logged_in')).at(-1)?.data).toMatchObject({ actor_kind: 'user', ip: '127.0.0.1' });
    });

    it('200 from HTTP Basic with no body', async () => {
      const basic = Buffer.from(`login@example.com:${PASSWORD}`).toString('base64');
      const res = await t.app.inject({ method: 'POST', url: '/auth/login', headers: { authorization: `Basic ${basic}` } });
      expect(res.statusCode).toBe(200);
      expect(res.json().token_type).toBe('Bearer');
    });

    it('403 not_confirmed for an unconfirmed account (right password)', async () => {
      await signup(t, 'pending@example.com');
      const res = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { username: 'pending@example.com', password: PASSWORD },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual(atriumnError('not_confirmed'));
    });

    it('401 unauthorized with the same text for a wrong password and an unknown user', async () => {
      const wrong = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { username: 'login@example.com', password: 'wrong password' },
      });
      const unknown = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { username: 'ghost@example.com', password: 'wrong password' },
      });
      expect(wrong.statusCode).toBe(401);
      expect(unknown.statusCode).toBe(401);
      expect(wrong.json().error).toBe('unauthorized');
      expect(unknown.json().error_description).toBe(wrong.json().error_description);
      const failed = await eventsOf(t, 'user.login_failed');
      expect(failed.map((e) => e.data.username)).toEqual(expect.arrayContaining(['login@example.com', 'ghost@example.com']));
      expect(JSON.stringify(failed)).not.toContain('wrong password');
    });

    it('400 validation_error when neither a body nor Basic credentials are sent', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/auth/login' });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toBe('validation_error');
    });
  });

  describe('GET /auth/me', () => {
    it('200 {username, attributes} with every attribute a string', async () => {
      const id = await confirmedUser(t, 'me@example.com', PASSWORD, { attributes: { department: 'research', clearance: '3' } });
      const { access_token } = await login(t, 'me@example.com');
      const res = await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(access_token) });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        username: 'me@example.com',
        attributes: {
          email: 'me@example.com',
          email_verified: 'true',
          sub: id,
          tenant_id: 'default',
          department: 'research',
          clearance: '3',
        },
      });
      for (const v of Object.values(res.json().attributes)) expect(typeof v).toBe('string');
    });

    it('401 without a token or with garbage', async () => {
      const none = await t.app.inject({ method: 'GET', url: '/auth/me' });
      expect(none.statusCode).toBe(401);
      expect(none.json().error).toBe('unauthorized');
      const garbage = await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer('a.b.c') });
      expect(garbage.statusCode).toBe(401);
      expect(garbage.json().error).toBe('invalid_token');
    });
  });

  describe('POST /auth/logout', () => {
    it('200 {status:"ok"} from the body; the access token and its refresh family stop working at once', async () => {
      await confirmedUser(t, 'logout@example.com');
      const session = await login(t, 'logout@example.com');
      const other = await login(t, 'logout@example.com'); // a second session survives
      const res = await t.app.inject({ method: 'POST', url: '/auth/logout', payload: { access_token: session.access_token } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ok' });
      expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(session.access_token) })).statusCode).toBe(401);
      const refresh = await t.app.inject({
        method: 'POST',
        url: '/auth/token',
        payload: { grant_type: 'refresh_token', refresh_token: session.refresh_token },
      });
      expect(refresh.statusCode).toBe(400);
      expect(refresh.json().error).toBe('invalid_grant');
      expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(other.access_token) })).statusCode).toBe(200);
      expect((await eventsOf(t, 'user.logged_out')).at(-1)?.data).toMatchObject({ actor_kind: 'user', ip: '127.0.0.1' });
    });

    it('accepts the token as a Bearer header; 400 invalid_request with none; 401 for a forged one', async () => {
      await confirmedUser(t, 'logout2@example.com');
      const session = await login(t, 'logout2@example.com');
      const res = await t.app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(session.access_token) });
      expect(res.statusCode, res.body).toBe(200);
      expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(session.access_token) })).statusCode).toBe(401);
      const none = await t.app.inject({ method: 'POST', url: '/auth/logout', payload: {} });
      expect(none.statusCode).toBe(400);
      expect(none.json().error).toBe('invalid_request');
      const forged = await t.app.inject({ method: 'POST', url: '/auth/logout', payload: { access_token: `${session.access_token}x` } });
      expect(forged.statusCode).toBe(401);
    });
  });

  describe('POST /auth/password/reset and /auth/password/confirm', () => {
    it('reset: 200 {code_delivery_details} (snake_case), the same for an unknown email', async () => {
      await confirmedUser(t, 'reset@example.com');
      const known = await t.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { email: 'reset@example.com' } });
      const unknown = await t.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { email: 'rxxxx@example.com' } });
      expect(known.statusCode).toBe(200);
      expect(unknown.statusCode).toBe(200);
      expect(known.json()).toEqual({
        code_delivery_details: { destination: 'r***@e***.com', delivery_medium: 'EMAIL', attribute_name: 'email' },
      });
      expect(unknown.json()).toEqual(known.json());
      expect(await latestCode(t, 'reset@example.com')).toMatch(/^\d{6}$/);
      await expect(latestCode(t, 'rxxxx@example.com')).rejects.toThrow(/no code/);
    });

    it('confirm: 200 {status:"ok"}; the new password works, the old does not, existing tokens are revoked', async () => {
      await confirmedUser(t, 'change@example.com');
      const before = await login(t, 'change@example.com');
      await t.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { email: 'change@example.com' } });
      const code = await latestCode(t, 'change@example.com');
      const weak = await t.app.inject({
        method: 'POST',
        url: '/auth/password/confirm',
        payload: { email: 'change@example.com', code, new_password: 'short' },
      });
      expect(weak.statusCode).toBe(400);
      expect(weak.json().error).toBe('validation_error');
      const res = await t.app.inject({
        method: 'POST',
        url: '/auth/password/confirm',
        payload: { email: 'change@example.com', code, new_password: 'a brand new secret' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ok' });
      expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(before.access_token) })).statusCode).toBe(401);
      const refresh = await t.app.inject({
        method: 'POST',
        url: '/auth/token',
        payload: { grant_type: 'refresh_token', refresh_token: before.refresh_token },
      });
      expect(refresh.json().error).toBe('invalid_grant');
      const old = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { username: 'change@example.com', password: PASSWORD },
      });
      expect(old.statusCode).toBe(401);
      await login(t, 'change@example.com', 'a brand new secret');
      const [event] = (await eventsOf(t, 'user.password_reset')).slice(-1);
      expect(event.data).toMatchObject({ actor_kind: 'user', ip: '127.0.0.1', sessions_revoked: 1 });
      expect(JSON.stringify(event.data)).not.toContain('a brand new secret');
    });

    it('confirm: 400 code_mismatch for a wrong code or unknown email, expired_code after one hour', async () => {
      await confirmedUser(t, 'expire@example.com');
      await t.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { email: 'expire@example.com' } });
      const code = await latestCode(t, 'expire@example.com');
      const wrong = await t.app.inject({
        method: 'POST',
        url: '/auth/password/confirm',
        payload: { email: 'expire@example.com', code: code === '123456' ? '654321' : '123456', new_password: 'another password' },
      });
      expect(wrong.json()).toEqual(atriumnError('code_mismatch'));
      const unknown = await t.app.inject({
        method: 'POST',
        url: '/auth/password/confirm',
        payload: { email: 'nobody@example.com', code, new_password: 'another password' },
      });
      expect(unknown.json().error).toBe('code_mismatch');
      clock.advance(3600_000 + 1000);
      const late = await t.app.inject({
        method: 'POST',
        url: '/auth/password/confirm',
        payload: { email: 'expire@example.com', code, new_password: 'another password' },
      });
      expect(late.statusCode).toBe(400);
      expect(late.json().error).toBe('expired_code');
    });
  });

  describe('refresh_token grant', () => {
    it('rotates: a new refresh token each time, the spent one is refused and revokes the family', async () => {
      await confirmedUser(t, 'refresh@example.com');
      const first = await login(t, 'refresh@example.com');
      const r1 = await t.app.inject({
        method: 'POST',
        url: '/auth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `grant_type=refresh_token&refresh_token=${first.refresh_token}`,
      });
      expect(r1.statusCode).toBe(200);
      const rotated = r1.json();
      expect(rotated).toMatchObject({
        token_type: 'Bearer',
        expires_in: 3600,
        refresh_token: expect.any(String),
        access_token: expect.any(String),
      });
      expect(rotated.refresh_token).not.toBe(first.refresh_token);
      expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(rotated.access_token) })).statusCode).toBe(200);
      // Replaying the spent token: refused, and the whole family (including the rotated tokens) ends.
      const replay = await t.app.inject({
        method: 'POST',
        url: '/auth/token',
        payload: { grant_type: 'refresh_token', refresh_token: first.refresh_token },
      });
      expect(replay.statusCode).toBe(400);
      expect(replay.json().error).toBe('invalid_grant');
      const next = await t.app.inject({
        method: 'POST',
        url: '/auth/token',
        payload: { grant_type: 'refresh_token', refresh_token: rotated.refresh_token },
      });
      expect(next.json().error).toBe('invalid_grant');
      expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(rotated.access_token) })).statusCode).toBe(401);
      expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(first.access_token) })).statusCode).toBe(401);
    });
  });

  it('timestamps and ids on the wire are URL-safe', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/admin/mailbox?limit=1', headers: t.admin });
    expect(res.statusCode).toBe(200);
    expect(res.json().data[0].created_at).toMatch(RFC3339);
    expect(res.json().data[0].id).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

/** Brute force: 10 failures in 15 minutes lock the username for 15 minutes, whatever the per-IP limits. */
describeEachDialect('identity: login lockout', (dialect) => {
  let t: TestLoam;
  const clock = new ManualClock(Date.now());
  beforeAll(async () => {
    t = await createTestLoam({ dialect, clock, config: { rateLimitMultiplier: 1000 } });
  });
  afterAll(() => t.close());

  const attempt = (username: string, password: string, ip = '10.0.0.1') =>
    t.app.inject({ method: 'POST', url: '/auth/login', payload: { username, password }, remoteAddress: ip });

  it('locks after ten failures, even for the right password and from other addresses; unlocks after 15 minutes', async () => {
    await confirmedUser(t, 'victim@example.com');
    for (let i = 0; i < 10; i++) expect((await attempt('victim@example.com', `guess-${i}`, `10.0.0.${i + 1}`)).statusCode).toBe(401);
    const locked = await attempt('victim@example.com', PASSWORD, '10.9.9.9');
    expect(locked.statusCode).toBe(429);
    expect(locked.json().error).toBe('rate_limited');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    clock.advance(15 * 60_000 + 1000);
    expect((await attempt('victim@example.com', PASSWORD)).statusCode).toBe(200);
  });

  it('failures spread over more than 15 minutes do not lock', async () => {
    await confirmedUser(t, 'slow@example.com');
    for (let i = 0; i < 9; i++) expect((await attempt('slow@example.com', 'nope-nope')).statusCode).toBe(401);
    clock.advance(15 * 60_000 + 1000);
    expect((await attempt('slow@example.com', 'nope-nope')).statusCode).toBe(401);
    expect((await attempt('slow@example.com', PASSWORD)).statusCode).toBe(200);
  });

  it('unknown usernames lock the same way (lockout does not reveal which accounts exist)', async () => {
    for (let i = 0; i < 10; i++) expect((await attempt('ghost@example.com', 'nope-nope')).statusCode).toBe(401);
    expect((await attempt('ghost@example.com', 'nope-nope')).statusCode).toBe(429);
  });
});

/** /api/v1/admin/users: roles, attributes and status of users, tenant-scoped. */
describeEachDialect('identity: user administration', (dialect) => {
  let t: TestLoam;
  let userId: string;
  let otherAdmin: { 'x-api-key': string };
  let scopedAdmin: { 'x-api-key': string };
  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitMultiplier: 1000 } });
    userId = await confirmedUser(t, 'managed@example.com', PASSWORD, { attributes: { department: 'sales' } });
    await t.loam.platform.transaction((tx) => t.loam.services.tenants.ensure(tx, 'other', 'Other'));
    otherAdmin = { 'x-api-key': (await t.loam.services.apiKeys.create('other', { name: 'o', scopes: ['auth:admin'] })).key };
    scopedAdmin = { 'x-api-key': (await t.loam.services.apiKeys.create('default', { name: 's', scopes: ['auth:admin'] })).key };
  });
  afterAll(() => t.close());

  const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
  const patch = (payload: Record<string, unknown>, headers: Record<string, string> = t.admin) =>
    t.app.inject({ method: 'PATCH', url: `/api/v1/admin/users/${userId}`, headers, payload });

  it('lists and gets users in the envelope; other tenants see 404', async () => {
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/admin/users?count=true', headers: t.admin });
    expect(list.statusCode).toBe(200);
    expect(list.json().data.map((u: { email: string }) => u.email)).toContain('managed@example.com');
    expect(list.json().pagination.total_count).toBeGreaterThanOrEqual(1);
    const one = await t.app.inject({ method: 'GET', url: `/api/v1/admin/users/${userId}`, headers: t.admin });
    expect(one.json().data).toMatchObject({
      id: userId,
      email: 'managed@example.com',
      status: 'confirmed',
      roles: [],
      attributes: { department: 'sales' },
    });
    expect(one.json().data.password_hash).toBeUndefined();
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/admin/users/${userId}`, headers: otherAdmin })).statusCode).toBe(404);
    expect((await patch({ roles: ['auditor'] }, otherAdmin)).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/admin/users', headers: otherAdmin })).json().data).toEqual([]);
  });

  it('roles and attributes: the sessions end, the next token carries the change', async () => {
    const before = await login(t, 'managed@example.com');
    const res = await patch({ roles: ['data_engineer'], attributes: { department: 'research', clearance: '2' } });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toMatchObject({ roles: ['data_engineer'], attributes: { department: 'research', clearance: '2' } });
    expect((await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(before.access_token) })).statusCode).toBe(401);
    const after = await login(t, 'managed@example.com');
    expect(claimsOf(after.access_token).roles).toEqual(['data_engineer']);
    const me = await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(after.access_token) });
    expect(me.json().attributes).toMatchObject({ department: 'research', clearance: '2' });
    expect((await eventsOf(t, 'user.updated')).at(-1)?.data).toMatchObject({
      user_id: userId,
      changed: ['roles', 'attributes'],
      sessions_revoked: 1,
    });
  });

  it('a role can only be granted by an admin or someone holding it; platform_admin only by a platform admin', async () => {
    expect((await patch({ roles: ['admin'] }, scopedAdmin)).statusCode).toBe(403);
    const roleAdmin = { 'x-api-key': (await t.loam.services.apiKeys.create('default', { name: 'r', scopes: [], roles: ['admin'] })).key };
    expect((await patch({ roles: ['platform_admin'] }, roleAdmin)).statusCode).toBe(403);
    expect((await patch({ roles: ['auditor'] }, roleAdmin)).statusCode).toBe(200);
  });

  it('a disabled user cannot sign in (403 user_disabled); validation errors are 400', async () => {
    expect((await patch({ status: 'disabled' })).statusCode).toBe(200);
    const res = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: 'managed@example.com', password: PASSWORD },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toBe('user_disabled');
    expect((await patch({ status: 'confirmed' })).statusCode).toBe(200);
    await login(t, 'managed@example.com');
    expect((await patch({})).statusCode).toBe(400);
    expect((await patch({ attributes: { email: 'x@y.z' } })).statusCode).toBe(400);
    expect((await patch({ status: 'unconfirmed' })).statusCode).toBe(400);
  });
});
