import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { type JWK, SignJWT, base64url, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, type TestLoam, createTestLoam, describeEachDialect, eventually } from '../../test/harness.js';
import { bearer, confirmedUser, login } from './testing.js';

/** Token verification is strict: each forgery or misuse below must be refused with 401. */
describeEachDialect('identity: token security', (dialect) => {
  let t: TestLoam;
  const clock = new ManualClock(Date.now());
  let userId: string;
  beforeAll(async () => {
    t = await createTestLoam({ dialect, clock, config: { rateLimitMultiplier: 1000 } });
    userId = await confirmedUser(t, 'sec@example.com');
  });
  afterAll(() => t.close());

  const me = (token: string) => t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) });
  const nowSec = () => Math.floor(clock.now() / 1000);
  /** A token signed with Loam's own HS256 key, with claims the test chooses. */
  const forge = (overrides: Record<string, unknown> = {}, drop: string[] = []) => {
    const claims: Record<string, unknown> = {
      iss: 'loam',
      aud: 'loam',
      sub: userId,
      tenant_id: 'default',
      scope: 'storage',
      jti: `jti_${Math.random().toString(36).slice(2)}`,
      roles: [],
      sid: 'fam_forged',
      kind: 'user',
      token_use: 'access',
      iat: nowSec(),
      nbf: nowSec(),
      exp: nowSec() + 3600,
      ...overrides,
    };
    for (const k of drop) delete claims[k];
    return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(t.loam.services.identity.keys.hsKey);
  };

  it('a well-formed token signed with the key passes (the baseline the forgeries differ from)', async () => {
    expect((await me(await forge())).statusCode).toBe(200);
  });

  it('alg none is refused', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const valid = await forge();
    const payload = valid.split('.')[1];
    for (const token of [`${header}.${payload}.`, `${header}.${payload}.${valid.split('.')[2]}`]) {
      const res = await me(token);
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toBe('invalid_token');
    }
  });

  it('a tampered signature or payload is refused', async () => {
    const valid = await forge();
    const [h, p, s] = valid.split('.');
    const flipped = s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1);
    expect((await me(`${h}.${p}.${flipped}`)).statusCode).toBe(401);
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const escalated = base64url.encode(JSON.stringify({ ...claims, roles: ['admin'], scope: '*' }));
    expect((await me(`${h}.${escalated}.${s}`)).statusCode).toBe(401);
  });

  it('expired beyond the 60 s skew is refused; within it, accepted', async () => {
    const { access_token } = await login(t, 'sec@example.com');
    clock.advance((3600 + 30) * 1000);
    expect((await me(access_token)).statusCode).toBe(200);
    clock.advance(60 * 1000);
    expect((await me(access_token)).statusCode).toBe(401);
  });

  it('not yet valid (nbf, iat in the future) beyond the skew is refused', async () => {
    expect((await me(await forge({ nbf: nowSec() + 30 }))).statusCode).toBe(200);
    expect((await me(await forge({ nbf: nowSec() + 300 }))).statusCode).toBe(401);
    expect((await me(await forge({ iat: nowSec() + 300, nbf: nowSec() + 300 }))).statusCode).toBe(401);
  });

  it('iat in the future beyond the skew is refused, even with nbf now (a day ahead, as found in #22)', async () => {
    expect((await me(await forge({ iat: nowSec() + 30 }))).statusCode).toBe(200);
    const res = await me(await forge({ iat: nowSec() + 86_400, nbf: nowSec() - 10 }));
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toBe('invalid_token');
  });

  it('a lifetime (exp − iat) beyond LOAM_JWT_MAX_LIFETIME_SEC is refused (ten years ahead)', async () => {
    expect((await me(await forge({ exp: nowSec() + 10 * 365 * 86_400 }))).statusCode).toBe(401);
    expect((await me(await forge({ iat: nowSec() - 100, exp: nowSec() + 3600 }))).statusCode).toBe(401);
    expect((await me(await forge({ exp: nowSec() + 3600 }))).statusCode).toBe(200);
  });

  it('wrong audience or issuer is refused', async () => {
    expect((await me(await forge({ aud: 'someone-else' }))).statusCode).toBe(401);
    expect((await me(await forge({ iss: 'https://evil.example' }))).statusCode).toBe(401);
  });

  it('missing required claims (sub, tenant_id, scope, jti, exp) are refused', async () => {
    for (const claim of ['sub', 'tenant_id', 'scope', 'jti', 'exp'])
      expect((await me(await forge({}, [claim]))).statusCode, claim).toBe(401);
  });

  it('an id token is not an access token', async () => {
    const { id_token } = await login(t, 'sec@example.com');
    expect((await me(id_token)).statusCode).toBe(401);
  });

  it('a token signed with another HS256 secret is refused', async () => {
    const other = await new SignJWT({ tenant_id: 'default', scope: 'storage', token_use: 'access', kind: 'user', sid: 'x' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('loam')
      .setAudience('loam')
      .setSubject(userId)
      .setJti('jti_x')
      .setIssuedAt(nowSec())
      .setNotBefore(nowSec())
      .setExpirationTime(nowSec() + 600)
      .sign(new TextEncoder().encode('x'.repeat(32)));
    expect((await me(other)).statusCode).toBe(401);
  });

  it('revoked at once after logout', async () => {
    const { access_token } = await login(t, 'sec@example.com');
    expect((await me(access_token)).statusCode).toBe(200);
    await t.app.inject({ method: 'POST', url: '/auth/logout', payload: { access_token } });
    expect((await me(access_token)).statusCode).toBe(401);
  });

  it('an expired access token can still end its session at logout (the refresh family dies)', async () => {
    const session = await login(t, 'sec@example.com');
    clock.advance(2 * 3600_000);
    const res = await t.app.inject({ method: 'POST', url: '/auth/logout', payload: { access_token: session.access_token } });
    expect(res.statusCode).toBe(200);
    const refresh = await t.app.inject({
      method: 'POST',
      url: '/auth/token',
      payload: { grant_type: 'refresh_token', refresh_token: session.refresh_token },
    });
    expect(refresh.json().error).toBe('invalid_grant');
  });

  it('HS256 deployments have no published keys and refuse rotation', async () => {
    const jwks = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(jwks.statusCode).toBe(200);
    expect(jwks.json()).toEqual({ keys: [] });
    const rotate = await t.app.inject({ method: 'POST', url: '/api/v1/admin/signing-keys/rotate', headers: t.admin });
    expect(rotate.statusCode).toBe(409);
  });
});

for (const alg of ['EdDSA', 'RS256'] as const) {
  describe(`identity: ${alg} signing keys, JWKS and rotation`, () => {
    let t: TestLoam;
    const clock = new ManualClock(Date.now());
    beforeAll(async () => {
      t = await createTestLoam({ clock, config: { rateLimitMultiplier: 1000, jwtSigningAlg: alg } });
      await confirmedUser(t, 'keys@example.com');
    });
    afterAll(() => t.close());

    const me = (token: string) => t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) });
    const jwks = async () => (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: JWK[] };

    it('tokens carry a kid whose public key is published and verifies them', async () => {
      const { access_token, id_token } = await login(t, 'keys@example.com');
      const header = decodeProtectedHeader(access_token);
      expect(header.alg).toBe(alg);
      const set = await jwks();
      expect(set.keys.map((k) => k.kid)).toEqual([header.kid]);
      expect(set.keys[0]).not.toHaveProperty('d');
      const { payload } = await jwtVerify(access_token, createLocalJWKSet(set), {
        issuer: 'loam',
        audience: 'loam',
        currentDate: new Date(clock.now()),
      });
      expect(payload.token_use).toBe('access');
      await jwtVerify(id_token, createLocalJWKSet(set), { currentDate: new Date(clock.now()) });
      expect((await me(access_token)).statusCode).toBe(200);
    });

    it('HS/RS confusion: an HS256 token keyed with the published public key is refused', async () => {
      const { access_token } = await login(t, 'keys@example.com');
      const [publicJwk] = (await jwks()).keys;
      const pem = createPublicKey({ key: publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({
        type: 'spki',
        format: 'pem',
      });
      const claims = JSON.parse(Buffer.from(access_token.split('.')[1], 'base64url').toString());
      for (const secret of [pem, JSON.stringify(publicJwk)]) {
        const forged = await new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256', kid: publicJwk.kid })
          .sign(new TextEncoder().encode(String(secret)));
        expect((await me(forged)).statusCode).toBe(401);
      }
    });

    it(`an ${alg} token from a key that is not ours, with our kid, is refused`, async () => {
      const { access_token } = await login(t, 'keys@example.com');
      const [publicJwk] = (await jwks()).keys;
      const claims = JSON.parse(Buffer.from(access_token.split('.')[1], 'base64url').toString());
      const { privateKey } = alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
      const forged = await new SignJWT(claims).setProtectedHeader({ alg, kid: publicJwk.kid }).sign(privateKey);
      expect((await me(forged)).statusCode).toBe(401);
    });

    it('rotation: new tokens use the new key; the old key verifies until its tokens expire, then leaves the JWKS', async () => {
      const before = await login(t, 'keys@example.com');
      const oldKid = decodeProtectedHeader(before.access_token).kid;
      const denied = await t.app.inject({
        method: 'POST',
        url: '/api/v1/admin/signing-keys/rotate',
        headers: { 'x-api-key': (await t.loam.services.apiKeys.create('default', { name: 'tenant admin', scopes: ['admin'] })).key },
      });
      expect(denied.statusCode).toBe(403);
      const rotated = await t.app.inject({ method: 'POST', url: '/api/v1/admin/signing-keys/rotate', headers: t.admin });
      expect(rotated.statusCode).toBe(200);
      expect(rotated.json().data).toHaveLength(2);
      const after = await login(t, 'keys@example.com');
      const newKid = decodeProtectedHeader(after.access_token).kid;
      expect(newKid).not.toBe(oldKid);
      expect((await jwks()).keys.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort());
      expect((await me(before.access_token)).statusCode).toBe(200);
      expect((await me(after.access_token)).statusCode).toBe(200);
      clock.advance((3600 + 61) * 1000);
      expect((await jwks()).keys.map((k) => k.kid)).toEqual([newKid]);
      expect((await me(before.access_token)).statusCode).toBe(401);
    });
  });
}

/** Two instances on one database: a logout on one is honoured by the other within the sync interval. */
describeEachDialect('identity: revocation across instances', (dialect) => {
  let a: TestLoam;
  let b: TestLoam;
  beforeAll(async () => {
    const config = { rateLimitMultiplier: 1000, tokenRevocationSyncMs: 50, secretKey: 'k'.repeat(40) };
    a = await createTestLoam({ dialect, config });
    b = await createTestLoam({ dialect, config, dataDir: a.dataDir, databaseUrl: a.databaseUrl });
    await confirmedUser(a, 'twice@example.com');
  });
  afterAll(async () => {
    await b.stop();
    await a.close();
  });

  it('a token revoked on instance A is refused by instance B', async () => {
    const session = await login(a, 'twice@example.com');
    const meOn = (t: TestLoam) => t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(session.access_token) });
    expect((await meOn(b)).statusCode).toBe(200);
    await a.app.inject({ method: 'POST', url: '/auth/logout', payload: { access_token: session.access_token } });
    expect((await meOn(a)).statusCode).toBe(401);
    await eventually(async () => (await meOn(b)).statusCode === 401);
  });
});
