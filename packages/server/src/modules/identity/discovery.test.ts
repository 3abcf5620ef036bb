import * as client from 'openid-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { credential } from './testing.js';

describeEachDialect('identity: OAuth 2.0 / OpenID discovery (RFC 8414), used by openid-client', (dialect) => {
  let t: TestLoam;
  let base: URL;
  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitMultiplier: 100, jwtSigningAlg: 'EdDSA' } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = new URL(`http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`);
  });
  afterAll(() => t.close());

  it.each(['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'])(
    'GET %s: issuer, token endpoint, JWKS URI, grant types, auth methods, scopes',
    async (path) => {
      const res = await fetch(new URL(path, base));
      expect(res.status).toBe(200);
      const meta = await res.json();
      expect(meta).toMatchObject({
        issuer: base.origin,
        token_endpoint: `${base.origin}/auth/token`,
        jwks_uri: `${base.origin}/.well-known/jwks.json`,
        grant_types_supported: expect.arrayContaining(['client_credentials', 'refresh_token']),
        token_endpoint_auth_methods_supported: expect.arrayContaining(['client_secret_basic', 'client_secret_post']),
      });
      expect(meta.scopes_supported).toEqual(expect.arrayContaining(['storage', 'storage:read', 'ingest:write', 'admin']));
    },
  );

  it("openid-client's discovery() works, and its client_credentials grant gets a token that Loam accepts", async () => {
    const c = await credential(t, ['storage:read']);
    const config = await client.discovery(base, c.client_id, c.client_secret, undefined, { execute: [client.allowInsecureRequests] });
    expect(config.serverMetadata().token_endpoint).toBe(`${base.origin}/auth/token`);
    const tokens = await client.clientCredentialsGrant(config, { scope: 'storage:read' });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    const me = await fetch(new URL('/auth/me', base), { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(me.status).toBe(200);
  });
});
