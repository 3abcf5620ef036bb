import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';
import { confirmedUser } from './testing.js';

const POLICIES = '/api/v1/admin/policies';

describeEachDialect('identity: the tenant’s Cedar policies apply to credentials, accounts and signing keys', (dialect) => {
  let t: TestLoam;
  let admin: { 'x-api-key': string };
  let credentialId: string;
  let userId: string;
  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
    admin = await keyHeaders(t, 'default', { roles: ['admin'] });
    const created = await t.app.inject({
      method: 'POST',
      url: '/admin/credentials',
      headers: admin,
      payload: { issued_to: 'etl', scopes: [] },
    });
    credentialId = created.json().id;
    userId = await confirmedUser(t, 'cedar-user@example.com');
  });
  afterAll(() => t?.close());

  /** Puts `policy` in force for the duration of `check`. */
  async function withPolicy(policy: string, check: () => Promise<void>): Promise<void> {
    const res = await t.app.inject({ method: 'POST', url: POLICIES, headers: t.admin, payload: { name: policy.slice(0, 100), policy } });
    expect(res.statusCode, res.body).toBe(201);
    try {
      await check();
    } finally {
      await t.app.inject({ method: 'DELETE', url: `${POLICIES}/${res.json().data.id}`, headers: t.admin });
    }
  }
  const get = async (url: string) => (await t.app.inject({ method: 'GET', url, headers: admin })).statusCode;

  it('a forbid on Loam::Credential answers 403 on the credential routes; accounts and keys still answer', async () => {
    await withPolicy('forbid(principal, action, resource is Loam::Credential);', async () => {
      expect(await get('/admin/credentials')).toBe(403);
      expect(await get(`/admin/credentials/${credentialId}`)).toBe(403);
      const patch = await t.app.inject({
        method: 'PATCH',
        url: `/admin/credentials/${credentialId}`,
        headers: admin,
        payload: { description: 'x' },
      });
      expect(patch.statusCode).toBe(403);
      const create = await t.app.inject({
        method: 'POST',
        url: '/admin/credentials',
        headers: admin,
        payload: { issued_to: 'x', scopes: [] },
      });
      expect(create.statusCode).toBe(403);
      expect((await t.app.inject({ method: 'DELETE', url: `/admin/credentials/${credentialId}`, headers: admin })).statusCode).toBe(403);
      expect(await get('/api/v1/admin/users')).toBe(200);
      expect(await get(`/api/v1/admin/users/${userId}`)).toBe(200);
      expect(await get('/api/v1/admin/signing-keys')).toBe(200);
      // Another tenant's credential is still 404, not 403.
      const other = await keyHeaders(t, 'cedar-other', { roles: ['admin'] });
      expect((await t.app.inject({ method: 'GET', url: `/admin/credentials/${credentialId}`, headers: other })).statusCode).toBe(404);
    });
    expect(await get(`/admin/credentials/${credentialId}`)).toBe(200);
  });

  it('a forbid on Loam::Account (by attribute) answers 403 on the user administration', async () => {
    await withPolicy(
      'forbid(principal, action, resource is Loam::Account) when { resource.hasTag("email") && resource.getTag("email") like "cedar-*" };',
      async () => {
        expect(await get(`/api/v1/admin/users/${userId}`)).toBe(403);
        const patch = await t.app.inject({ method: 'PATCH', url: `/api/v1/admin/users/${userId}`, headers: admin, payload: { roles: [] } });
        expect(patch.statusCode).toBe(403);
        expect(patch.json().detail).toMatch(/^Access denied: forbidden by policy pol_/);
        expect(await get('/api/v1/admin/users')).toBe(200); // the collection carries no email tag
        expect(await get('/admin/credentials')).toBe(200);
      },
    );
    expect(await get(`/api/v1/admin/users/${userId}`)).toBe(200);
  });

  it('a forbid on reading Loam::Key answers 403 on the signing keys', async () => {
    await withPolicy('forbid(principal, action == Loam::Action::"read", resource is Loam::Key);', async () => {
      expect(await get('/api/v1/admin/signing-keys')).toBe(403);
      expect(await get('/api/v1/admin/users')).toBe(200);
    });
    expect(await get('/api/v1/admin/signing-keys')).toBe(200);
  });
});
