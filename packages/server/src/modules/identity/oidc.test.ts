import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam } from '../../test/harness.js';
import { bearer } from './testing.js';

/**
 * A local OpenID Connect issuer (test double of an external IdP such as Keycloak or Auth0):
 * it serves the discovery document and the JWKS, and the test signs tokens with its key.
 */
async function startIssuer() {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-key-1', alg: 'RS256', use: 'sig' };
  let jwksRequests = 0;
  const server: Server = createServer((req, res) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') return res.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks` }));
    if (req.url === '/jwks') {
      jwksRequests++;
      return res.end(JSON.stringify({ keys: [jwk] }));
    }
    res.statusCode = 404;
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sign = (claims: Record<string, unknown>, opts: { exp?: string | number; aud?: string; iss?: string } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'idp-key-1' })
      .setIssuer(opts.iss ?? issuer)
      .setAudience(opts.aud ?? 'loam-api')
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? '10m')
      .sign(privateKey);
  return { issuer, sign, jwksRequests: () => jwksRequests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('identity: external OpenID Connect issuer', () => {
  let idp: Awaited<ReturnType<typeof startIssuer>>;
  let t: TestLoam;
  beforeAll(async () => {
    idp = await startIssuer();
    t = await createTestLoam({
      config: {
        rateLimitMultiplier: 1000,
        oidcIssuer: idp.issuer,
        oidcAudience: 'loam-api',
        oidcTenantClaim: 'org',
        oidcRolesClaim: 'groups',
      },
    });
    await t.loam.platform.transaction((tx) => t.loam.services.tenants.ensure(tx, 'acme', 'Acme'));
  });
  afterAll(async () => {
    await t.close();
    await idp.close();
  });

  const me = (token: string) => t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) });

  it('maps sub, email, the tenant claim and groups → roles', async () => {
    const token = await idp.sign({
      sub: 'idp-user-42',
      email: 'ada@acme.test',
      org: 'acme',
      groups: ['data_scientist'],
      department: 'research',
    });
    const res = await me(token);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      username: 'ada@acme.test',
      attributes: expect.objectContaining({
        sub: 'idp-user-42',
        tenant_id: 'acme',
        email: 'ada@acme.test',
        email_verified: 'true',
        department: 'research',
      }),
    });
    for (const v of Object.values(res.json().attributes)) expect(typeof v).toBe('string');
    expect(idp.jwksRequests()).toBe(1);
  });

  it('roles from groups grant access (admin group → tenant admin), scoped to the mapped tenant', async () => {
    const admin = await idp.sign({ sub: 'boss', org: 'acme', groups: ['admin'] });
    const plain = await idp.sign({ sub: 'worker', org: 'acme', groups: ['data_scientist'] });
    expect((await t.app.inject({ method: 'GET', url: '/admin/credentials', headers: bearer(admin) })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/admin/credentials', headers: bearer(plain) })).statusCode).toBe(403);
    const foreign = await t.app.inject({ method: 'GET', url: '/admin/credentials?tenantId=default', headers: bearer(admin) });
    expect(foreign.statusCode).toBe(403);
  });

  it('an external issuer cannot make anyone a platform admin', async () => {
    const token = await idp.sign({ sub: 'sneaky', org: 'acme', groups: ['platform_admin'] });
    const foreign = await t.app.inject({ method: 'GET', url: '/admin/credentials?tenantId=default', headers: bearer(token) });
    expect(foreign.statusCode).toBe(403);
  });

  it('without the tenant claim the principal lands in the default tenant', async () => {
    const res = await me(await idp.sign({ sub: 'nobody-in-particular' }));
    expect(res.statusCode).toBe(200);
    expect(res.json().attributes.tenant_id).toBe('default');
  });

  it('refuses expired tokens, the wrong audience, foreign keys and symmetric algorithms', async () => {
    expect((await me(await idp.sign({ sub: 'x' }, { exp: Math.floor(Date.now() / 1000) - 120 }))).statusCode).toBe(401);
    expect((await me(await idp.sign({ sub: 'x' }, { aud: 'another-api' }))).statusCode).toBe(401);
    const { privateKey } = await generateKeyPair('RS256');
    const foreign = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'RS256', kid: 'idp-key-1' })
      .setIssuer(idp.issuer)
      .setAudience('loam-api')
      .setExpirationTime('5m')
      .sign(privateKey);
    expect((await me(foreign)).statusCode).toBe(401);
    const hs = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'HS256', kid: 'idp-key-1' })
      .setIssuer(idp.issuer)
      .setAudience('loam-api')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('x'.repeat(32)));
    expect((await me(hs)).statusCode).toBe(401);
  });

  it('tokens of other issuers are not trusted', async () => {
    expect((await me(await idp.sign({ sub: 'x' }, { iss: 'https://elsewhere.example' }))).statusCode).toBe(401);
  });
});
