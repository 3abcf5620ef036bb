import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { confirmedUser, credential, login } from './testing.js';

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as { iat: number; exp: number };

describeEachDialect('identity: configurable access-token lifetime', (dialect) => {
  let t: TestLoam;
  beforeAll(async () => {
    // The data-vault gateway's 24 h, a setting away (Loam's default stays 1 h).
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false, accessTokenTtlSec: 86_400 } });
  });
  afterAll(() => t.close());

  it('issues user and client tokens with the configured lifetime, and accepts them', async () => {
    await confirmedUser(t, 'lifetime@example.com');
    const tokens = await login(t, 'lifetime@example.com');
    expect(tokens.expires_in).toBe(86_400);
    const { iat, exp } = claimsOf(tokens.access_token);
    expect(exp - iat).toBe(86_400);
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(me.statusCode, me.body).toBe(200);

    const client = await credential(t, ['storage']);
    const issued = await t.app.inject({
      method: 'POST',
      url: '/auth/token',
      payload: { grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret },
    });
    expect(issued.statusCode, issued.body).toBe(200);
    expect(issued.json().expires_in).toBe(86_400);
  });
});
