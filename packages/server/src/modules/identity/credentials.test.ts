import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../platform/crypto/index.js';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { bearer, confirmedUser, credential, eventsOf, login } from './testing.js';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const CREDENTIAL_KEYS = ['active', 'client_id', 'created_at', 'description', 'id', 'issued_to', 'scopes', 'tenant_id', 'updated_at'];

/** Contract §3, machine lines: /admin/credentials CRUD and POST /auth/token. */
describeEachDialect('identity: client credentials (Atriumn §3)', (dialect) => {
  let t: TestLoam;
  /** An admin API key of another tenant, to check isolation. */
  let otherAdmin: { 'x-api-key': string };
  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitMultiplier: 1000 } });
    await t.loam.platform.transaction((tx) => t.loam.services.tenants.ensure(tx, 'other', 'Other'));
    const key = await t.loam.services.apiKeys.create('other', { name: 'other admin', scopes: ['auth:admin'] });
    otherAdmin = { 'x-api-key': key.key };
  });
  afterAll(() => t.close());

  const grant = (payload: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/auth/token', payload });

  describe('POST /admin/credentials', () => {
    it('201: a flat ClientCredential plus client_secret, shown once and stored as a SHA-256 hash', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/admin/credentials',
        headers: t.admin,
        payload: { issued_to: 'billing-service', scopes: ['storage', 'ai:read'], description: 'billing' },
      });
      expect(res.statusCode).toBe(201);
      const body = res.json();
      expect(Object.keys(body).sort()).toEqual([...CREDENTIAL_KEYS, 'client_secret'].sort());
      expect(body).toMatchObject({
        issued_to: 'billing-service',
        scopes: ['storage', 'ai:read'],
        description: 'billing',
        active: true,
        tenant_id: 'default',
      });
      expect(body.id).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(body.created_at).toMatch(RFC3339);
      expect(body.updated_at).toMatch(RFC3339);
      expect(body.client_secret.length).toBeGreaterThanOrEqual(40);
      const row = await t.loam.platform.database.db
        .selectFrom('client_credentials')
        .selectAll()
        .where('id', '=', body.id)
        .executeTakeFirstOrThrow();
      expect(row.secret_hash).toBe(sha256(body.client_secret));
      expect(JSON.stringify(row)).not.toContain(body.client_secret);
      const get = await t.app.inject({ method: 'GET', url: `/admin/credentials/${body.id}`, headers: t.admin });
      expect(get.json().client_secret).toBeUndefined();
      const [event] = (await eventsOf(t, 'credential.created')).filter((e) => e.subject === body.id);
      expect(event.data).toMatchObject({ actor_kind: 'api_key', ip: '127.0.0.1', credential_id: body.id, client_id: body.client_id });
      expect(JSON.stringify(event.data)).not.toContain(body.client_secret);
    });

    it('scopes null means none; description absent means ""', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/admin/credentials',
        headers: t.admin,
        payload: { issued_to: 'x', scopes: null },
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ scopes: [], description: '' });
    });

    it('400 validation_error for a missing issued_to; 401 without credentials; 403 without auth:admin', async () => {
      const bad = await t.app.inject({ method: 'POST', url: '/admin/credentials', headers: t.admin, payload: { scopes: [] } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error).toBe('validation_error');
      const anon = await t.app.inject({ method: 'POST', url: '/admin/credentials', payload: { issued_to: 'x', scopes: [] } });
      expect(anon.statusCode).toBe(401);
      expect(anon.json().error).toBe('unauthorized');
      await confirmedUser(t, 'plain@example.com');
      const { access_token } = await login(t, 'plain@example.com');
      const user = await t.app.inject({
        method: 'POST',
        url: '/admin/credentials',
        headers: bearer(access_token),
        payload: { issued_to: 'x', scopes: [] },
      });
      expect(user.statusCode).toBe(403);
      expect(user.json().error).toBe('forbidden');
    });

    it('a client token with auth:admin may administer credentials of its tenant', async () => {
      const admin = await credential(t, ['auth:admin']);
      const token = (
        await grant({ grant_type: 'client_credentials', client_id: admin.client_id, client_secret: admin.client_secret })
      ).json().access_token;
      const res = await t.app.inject({
        method: 'POST',
        url: '/admin/credentials',
        headers: bearer(token),
        payload: { issued_to: 'child', scopes: ['auth:admin'] },
      });
      expect(res.statusCode).toBe(201);
      const broader = await t.app.inject({
        method: 'POST',
        url: '/admin/credentials',
        headers: bearer(token),
        payload: { issued_to: 'child', scopes: ['storage'] },
      });
      expect(broader.statusCode).toBe(403);
    });
  });

  describe('GET /admin/credentials', () => {
    it('200 {credentials:[...]} with filters issuedTo, scope, active, tenantId', async () => {
      const a = await credential(t, ['ingest'], { issued_to: 'filter-a' });
      const b = await credential(t, ['ingest', 'storage:read'], { issued_to: 'filter-b' });
      await t.app.inject({ method: 'PATCH', url: `/admin/credentials/${b.id}`, headers: t.admin, payload: { active: false } });
      const list = async (qs: string) => {
        const res = await t.app.inject({ method: 'GET', url: `/admin/credentials${qs}`, headers: t.admin });
        expect(res.statusCode).toBe(200);
        expect(Object.keys(res.json())).toEqual(['credentials']);
        return (res.json().credentials as { id: string; client_secret?: string }[]).map((c) => {
          expect(c.client_secret).toBeUndefined();
          return c.id;
        });
      };
      expect(await list('?issuedTo=filter-a')).toEqual([a.id]);
      expect(await list('?scope=storage%3Aread')).toEqual([b.id]);
      expect(await list('?scope=ingest&active=true')).toEqual([a.id]);
      expect(await list('?scope=ingest&active=false')).toEqual([b.id]);
      expect(await list('?issuedTo=filter-a&tenantId=default')).toEqual([a.id]);
      expect(await list('?issuedTo=nobody')).toEqual([]);
    });

    it('[] for a tenant with none; another tenant is invisible; naming it is 403', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/admin/credentials', headers: otherAdmin });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ credentials: [] });
      const foreign = await t.app.inject({ method: 'GET', url: '/admin/credentials?tenantId=default', headers: otherAdmin });
      expect(foreign.statusCode).toBe(403);
    });

    it('400 invalid_param for active other than true/false', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/admin/credentials?active=maybe', headers: t.admin });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toBe('invalid_param');
    });
  });

  describe('GET, PATCH, DELETE /admin/credentials/{id}', () => {
    it('GET: 200 ClientCredential; 404 not_found for an unknown id and for another tenant', async () => {
      const c = await credential(t, ['ai']);
      const res = await t.app.inject({ method: 'GET', url: `/admin/credentials/${c.id}`, headers: t.admin });
      expect(res.statusCode).toBe(200);
      expect(Object.keys(res.json()).sort()).toEqual(CREDENTIAL_KEYS);
      expect(typeof res.json().active).toBe('boolean');
      const unknown = await t.app.inject({ method: 'GET', url: '/admin/credentials/cred_nope', headers: t.admin });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().error).toBe('not_found');
      const foreign = await t.app.inject({ method: 'GET', url: `/admin/credentials/${c.id}`, headers: otherAdmin });
      expect(foreign.statusCode).toBe(404);
      for (const method of ['PATCH', 'DELETE'] as const) {
        const r = await t.app.inject({
          method,
          url: `/admin/credentials/${c.id}`,
          headers: otherAdmin,
          ...(method === 'PATCH' ? { payload: { active: false } } : {}),
        });
        expect(r.statusCode).toBe(404);
      }
    });

    it('PATCH applies exactly the keys present, zero values included; scopes replace', async () => {
      const c = await credential(t, ['ai', 'storage'], { description: 'first' });
      const one = await t.app.inject({ method: 'PATCH', url: `/admin/credentials/${c.id}`, headers: t.admin, payload: { active: false } });
      expect(one.statusCode).toBe(200);
      expect(one.json()).toMatchObject({ active: false, scopes: ['ai', 'storage'], description: 'first' });
      const zeros = await t.app.inject({
        method: 'PATCH',
        url: `/admin/credentials/${c.id}`,
        headers: t.admin,
        payload: { active: true, scopes: [], description: '' },
      });
      expect(zeros.json()).toMatchObject({ active: true, scopes: [], description: '' });
      const replace = await t.app.inject({
        method: 'PATCH',
        url: `/admin/credentials/${c.id}`,
        headers: t.admin,
        payload: { scopes: ['ingest:read'] },
      });
      expect(replace.json()).toMatchObject({ active: true, scopes: ['ingest:read'], description: '' });
      expect(Date.parse(replace.json().updated_at)).toBeGreaterThanOrEqual(Date.parse(replace.json().created_at));
      const events = (await eventsOf(t, 'credential.updated')).filter((e) => e.subject === c.id);
      expect(events.map((e) => e.data.changed)).toEqual([['active'], ['active', 'scopes', 'description'], ['scopes']]);
    });

    it('DELETE: 204 with no body, then 404', async () => {
      const c = await credential(t, ['ai']);
      const res = await t.app.inject({ method: 'DELETE', url: `/admin/credentials/${c.id}`, headers: t.admin });
      expect(res.statusCode).toBe(204);
      expect(res.body).toBe('');
      expect((await t.app.inject({ method: 'GET', url: `/admin/credentials/${c.id}`, headers: t.admin })).statusCode).toBe(404);
      const again = await t.app.inject({ method: 'DELETE', url: `/admin/credentials/${c.id}`, headers: t.admin });
      expect(again.statusCode).toBe(404);
      expect(again.json().error).toBe('not_found');
      expect((await eventsOf(t, 'credential.deleted')).some((e) => e.subject === c.id && e.data.actor)).toBe(true);
    });
  });

  describe('POST /auth/token (client_credentials)', () => {
    let c: Awaited<ReturnType<typeof credential>>;
    beforeAll(async () => {
      c = await credential(t, ['storage', 'ai:read']);
    });

    it('JSON: 200 TokenResponse with every scope of the credential by default', async () => {
      const res = await grant({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'storage ai:read' });
      expect(res.body).toContain('"expires_in":3600');
      expect(res.headers['cache-control']).toBe('no-store');
      const me = await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(res.json().access_token) });
      expect(me.statusCode).toBe(200);
      expect(me.json()).toMatchObject({ username: c.client_id, attributes: { sub: c.client_id, tenant_id: 'default', kind: 'client' } });
      const [event] = (await eventsOf(t, 'token.issued')).slice(-1);
      expect(event.data).toMatchObject({
        actor: c.client_id,
        actor_kind: 'client',
        ip: '127.0.0.1',
        credential_id: c.id,
        grant_type: 'client_credentials',
        scope: 'storage ai:read',
      });
      expect(JSON.stringify(event.data)).not.toContain(c.client_secret);
      expect(JSON.stringify(event.data)).not.toContain(res.json().access_token);
    });

    it('RFC 6749 form body with client_secret_post and with client_secret_basic', async () => {
      const post = await t.app.inject({
        method: 'POST',
        url: '/auth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: c.client_id,
          client_secret: c.client_secret,
          scope: 'storage:read',
        }).toString(),
      });
      expect(post.statusCode).toBe(200);
      expect(post.json().scope).toBe('storage:read');
      const basic = await t.app.inject({
        method: 'POST',
        url: '/auth/token',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}`,
        },
        payload: 'grant_type=client_credentials&scope=ai%3Aread+storage%3Awrite',
      });
      expect(basic.statusCode).toBe(200);
      expect(basic.json().scope).toBe('ai:read storage:write');
    });

    it('401 invalid_client for a bad secret, an unknown client, a missing secret', async () => {
      for (const payload of [
        { grant_type: 'client_credentials', client_id: c.client_id, client_secret: `${c.client_secret}x` },
        { grant_type: 'client_credentials', client_id: 'unknown-client', client_secret: c.client_secret },
        { grant_type: 'client_credentials', client_id: c.client_id },
      ]) {
        const res = await grant(payload);
        expect(res.statusCode).toBe(401);
        expect(res.json().error).toBe('invalid_client');
      }
      const basic = await t.app.inject({
        method: 'POST',
        url: '/auth/token',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${c.client_id}:nope`).toString('base64')}`,
        },
        payload: 'grant_type=client_credentials',
      });
      expect(basic.statusCode).toBe(401);
      expect(basic.headers['www-authenticate']).toMatch(/^Basic/);
    });

    it('400 invalid_scope for a scope outside the credential (a bare service asks for more than :read)', async () => {
      for (const scope of ['ai:write', 'ai', 'auth:admin', 'storage:read datasets:read']) {
        const res = await grant({ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret, scope });
        expect(res.statusCode, scope).toBe(400);
        expect(res.json().error).toBe('invalid_scope');
      }
    });

    it('400 unsupported_grant_type, invalid_request, invalid_grant', async () => {
      const password = await grant({ grant_type: 'password', username: 'a', password: 'b' });
      expect(password.statusCode).toBe(400);
      expect(password.json().error).toBe('unsupported_grant_type');
      const missing = await grant({ client_id: c.client_id, client_secret: c.client_secret });
      expect(missing.statusCode).toBe(400);
      expect(missing.json().error).toBe('invalid_request');
      const twoMethods = await t.app.inject({
        method: 'POST',
        url: '/auth/token',
        headers: { authorization: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}` },
        payload: { grant_type: 'client_credentials', client_secret: c.client_secret },
      });
      expect(twoMethods.statusCode).toBe(400);
      expect(twoMethods.json().error).toBe('invalid_request');
      const noRefresh = await grant({ grant_type: 'refresh_token' });
      expect(noRefresh.json().error).toBe('invalid_request');
      const badRefresh = await grant({ grant_type: 'refresh_token', refresh_token: 'loam_rt_nope' });
      expect(badRefresh.statusCode).toBe(400);
      expect(badRefresh.json().error).toBe('invalid_grant');
      const notJson = await t.app.inject({
        method: 'POST',
        url: '/auth/token',
        headers: { 'content-type': 'application/json' },
        payload: '[1,2]',
      });
      expect(notJson.statusCode).toBe(400);
      expect(notJson.json().error).toBe('invalid_request');
    });

    it('deactivating a credential ends its tokens at once and refuses new grants; reactivating allows new ones', async () => {
      const d = await credential(t, ['auth:admin']);
      const token = (await grant({ grant_type: 'client_credentials', client_id: d.client_id, client_secret: d.client_secret })).json()
        .access_token;
      expect((await t.app.inject({ method: 'GET', url: '/admin/credentials', headers: bearer(token) })).statusCode).toBe(200);
      await t.app.inject({ method: 'PATCH', url: `/admin/credentials/${d.id}`, headers: t.admin, payload: { active: false } });
      expect((await t.app.inject({ method: 'GET', url: '/admin/credentials', headers: bearer(token) })).statusCode).toBe(401);
      const refused = await grant({ grant_type: 'client_credentials', client_id: d.client_id, client_secret: d.client_secret });
      expect(refused.statusCode).toBe(401);
      expect(refused.json().error).toBe('invalid_client');
      await t.app.inject({ method: 'PATCH', url: `/admin/credentials/${d.id}`, headers: t.admin, payload: { active: true } });
      const again = (await grant({ grant_type: 'client_credentials', client_id: d.client_id, client_secret: d.client_secret })).json()
        .access_token;
      expect((await t.app.inject({ method: 'GET', url: '/admin/credentials', headers: bearer(again) })).statusCode).toBe(200);
      // A description change leaves tokens alone; a scope change ends them.
      await t.app.inject({ method: 'PATCH', url: `/admin/credentials/${d.id}`, headers: t.admin, payload: { description: 'renamed' } });
      expect((await t.app.inject({ method: 'GET', url: '/admin/credentials', headers: bearer(again) })).statusCode).toBe(200);
      await t.app.inject({
        method: 'PATCH',
        url: `/admin/credentials/${d.id}`,
        headers: t.admin,
        payload: { scopes: ['auth:admin', 'ai'] },
      });
      expect((await t.app.inject({ method: 'GET', url: '/admin/credentials', headers: bearer(again) })).statusCode).toBe(401);
      const third = (await grant({ grant_type: 'client_credentials', client_id: d.client_id, client_secret: d.client_secret })).json()
        .access_token;
      expect((await t.app.inject({ method: 'GET', url: '/admin/credentials', headers: bearer(third) })).statusCode).toBe(200);
      await t.app.inject({ method: 'DELETE', url: `/admin/credentials/${d.id}`, headers: t.admin });
      expect((await t.app.inject({ method: 'GET', url: '/admin/credentials', headers: bearer(third) })).statusCode).toBe(401);
    });
  });
});
