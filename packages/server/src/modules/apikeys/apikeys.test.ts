import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, ManualClock, createTestLoam, describeEachDialect, eventually } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';

describeEachDialect('API keys over HTTP', (dialect) => {
  let t: TestLoam;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock();
    t = await createTestLoam({ dialect, clock, http: false });
    const app = await t.loam.http();
    // A test-only route in the Atriumn family (outside /api/v1) that requires a scope, to check
    // that the authentication hook answers 401/403 in that family's format too.
    app.get('/test/needs-storage', { config: { auth: { scopes: ['storage:read'] } } }, async (request) => ({
      subject: request.principal?.subject,
    }));
    await app.ready();
    t.app = app;
  });
  afterAll(() => t.close());

  async function create(body: Record<string, unknown>, headers: Record<string, string> = t.admin) {
    return t.app.inject({ method: 'POST', url: '/api/v1/api-keys', headers, payload: body });
  }
  const get = (url: string, headers: Record<string, string>) => t.app.inject({ method: 'GET', url, headers });

  it('creates a key: 201, Location, the secret shown once, stored only as a SHA-256 hash', async () => {
    const res = await create({ name: 'ci', scopes: ['storage'] });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    const key = body.data;
    expect(res.headers.location).toBe(`/api/v1/api-keys/${key.id}`);
    expect(body).toMatchObject({ status: 'success', request_id: expect.any(String), links: { self: `/api/v1/api-keys/${key.id}` } });
    expect(key).toMatchObject({
      id: expect.stringMatching(/^key_[0-9A-Z]{26}$/),
      name: 'ci',
      scopes: ['storage'],
      roles: [],
      tenant_id: 'default',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      expires_at: null,
      last_used_at: null,
      revoked_at: null,
    });
    expect(key.key).toMatch(/^loam_sk_[0-9A-Za-z]{40}$/);
    expect(key.key.startsWith(key.prefix)).toBe(true);
    expect(key.prefix.length).toBeLessThan(16);

    // Never again: GET and list do not show it.
    const again = await get(`/api/v1/api-keys/${key.id}`, t.admin);
    expect(again.statusCode).toBe(200);
    expect(again.json().data.key).toBeUndefined();
    expect(again.body).not.toContain(key.key);
    const list = await get('/api/v1/api-keys?limit=1000', t.admin);
    expect(list.body).not.toContain(key.key);

    // At rest: the hash, never the secret.
    const row = await t.loam.platform.database.db.selectFrom('api_keys').selectAll().where('id', '=', key.id).executeTakeFirstOrThrow();
    expect(row.hash).toBe(createHash('sha256').update(key.key).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(key.key);
    expect(JSON.stringify(row)).not.toContain(key.key.slice(-20));
  });

  it('the new key works with X-API-Key and with Authorization: Bearer', async () => {
    const { data } = (await create({ name: 'both headers', scopes: ['auth:admin'] })).json();
    expect((await get(`/api/v1/api-keys/${data.id}`, { 'x-api-key': data.key })).statusCode).toBe(200);
    expect((await get(`/api/v1/api-keys/${data.id}`, { authorization: `Bearer ${data.key}` })).statusCode).toBe(200);
    expect((await get(`/api/v1/api-keys/${data.id}`, { authorization: `bearer ${data.key}` })).statusCode).toBe(200);
  });

  it('validates the body', async () => {
    const res = await create({ scopes: ['x'] });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_error', errors: [{ field: 'name', code: 'required_field_missing' }] });
    const past = await create({ name: 'old', expires_at: '2001-01-01T00:00:00Z' });
    expect(past.statusCode).toBe(400);
    expect(past.json().errors[0].field).toBe('expires_at');
  });

  it('lists with cursor pagination; a tampered cursor is 400', async () => {
    for (let i = 0; i < 3; i++) expect((await create({ name: `page ${i}` })).statusCode).toBe(201);
    const all = (await get('/api/v1/api-keys?count=true', t.admin)).json();
    expect(all.pagination).toMatchObject({ has_more: false, total_count: all.data.length });
    expect(all.data.length).toBeGreaterThanOrEqual(4);

    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const res = await get(`/api/v1/api-keys?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, t.admin);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.data).toHaveLength(1);
      expect(body.pagination.page_size).toBe(1);
      seen.push(body.data[0].id);
      if (!body.pagination.has_more) {
        expect(body.pagination.cursor).toBeUndefined();
        break;
      }
      cursor = body.pagination.cursor;
    }
    expect(seen).toEqual(all.data.map((k: { id: string }) => k.id));
    expect(new Set(seen).size).toBe(seen.length);

    const first = (await get('/api/v1/api-keys?limit=1', t.admin)).json();
    const good: string = first.pagination.cursor;
    const [body, mac] = good.split('.');
    const forged = `${Buffer.from(JSON.stringify({ after: '' })).toString('base64url')}.${mac}`;
    for (const bad of [`${body}.${mac.slice(0, -2)}xx`, forged, 'garbage']) {
      const res = await get(`/api/v1/api-keys?cursor=${encodeURIComponent(bad)}`, t.admin);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'invalid_param', status: 400 });
    }
    const tooMany = await get('/api/v1/api-keys?limit=5000', t.admin);
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().code).toBe('invalid_param');
  });

  it('revoke: 204, the key stops working at once, revoked_at is shown; revoking again is fine', async () => {
    const { data } = (await create({ name: 'to revoke', scopes: ['auth:admin'] })).json();
    expect((await get('/api/v1/api-keys', { 'x-api-key': data.key })).statusCode).toBe(200);
    const del = await t.app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${data.id}`, headers: t.admin });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    const after = await get('/api/v1/api-keys', { 'x-api-key': data.key });
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('invalid_token');
    expect((await get(`/api/v1/api-keys/${data.id}`, t.admin)).json().data.revoked_at).toMatch(/Z$/);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${data.id}`, headers: t.admin })).statusCode).toBe(204);
    // A revoked key cannot be rotated back to life.
    expect((await t.app.inject({ method: 'POST', url: `/api/v1/api-keys/${data.id}/rotate`, headers: t.admin })).statusCode).toBe(404);
  });

  it('rotate: the old secret is refused, the new one works', async () => {
    const { data } = (await create({ name: 'to rotate', scopes: ['auth:admin'] })).json();
    const rot = await t.app.inject({ method: 'POST', url: `/api/v1/api-keys/${data.id}/rotate`, headers: t.admin });
    expect(rot.statusCode).toBe(200);
    const rotated = rot.json().data;
    expect(rotated.id).toBe(data.id);
    expect(rotated.key).not.toBe(data.key);
    expect(rotated.key.startsWith(rotated.prefix)).toBe(true);
    expect((await get('/api/v1/api-keys', { 'x-api-key': data.key })).statusCode).toBe(401);
    expect((await get('/api/v1/api-keys', { 'x-api-key': rotated.key })).statusCode).toBe(200);
  });

  it('scopes are enforced: a storage key gets 403 on the API key routes', async () => {
    const { data } = (await create({ name: 'storage only', scopes: ['storage'] })).json();
    const res = await get('/api/v1/api-keys', { 'x-api-key': data.key });
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'forbidden', status: 403, detail: expect.stringContaining('auth:admin') });
    expect((await create({ name: 'x' }, { 'x-api-key': data.key })).statusCode).toBe(403);
  });

  it('a key cannot grant more than its creator holds', async () => {
    const { data: delegate } = (await create({ name: 'key admin', scopes: ['auth:admin'] })).json();
    const headers = { 'x-api-key': delegate.key };
    for (const body of [
      { name: 'wider', scopes: ['storage'] },
      { name: 'star', scopes: ['*'] },
      { name: 'whole service', scopes: ['auth'] },
      { name: 'role', roles: ['admin'] },
      { name: 'platform', roles: ['platform_admin'] },
    ]) {
      const res = await create(body, headers);
      expect(res.statusCode, JSON.stringify(body)).toBe(403);
      expect(res.json().code).toBe('forbidden');
    }
    const same = await create({ name: 'same', scopes: ['auth:admin'] }, headers);
    expect(same.statusCode).toBe(201);
    expect(same.json().data.created_by).toBe(delegate.id);
  });

  it('missing or bad credentials: 401 in both route families', async () => {
    const none = await get('/api/v1/api-keys', {});
    expect(none.statusCode).toBe(401);
    expect(none.headers['content-type']).toMatch(/problem\+json/);
    expect(none.json()).toMatchObject({ status: 401, code: 'unauthorized', request_id: expect.any(String) });
    for (const headers of <Record<string, string>[]>[
      { 'x-api-key': 'loam_sk_not_a_real_key_at_all_0000000000000000' },
      { authorization: 'Bearer loam_sk_wrong' },
      { authorization: 'Bearer a.b.c' },
    ]) {
      const bad = await get('/api/v1/api-keys', headers);
      expect(bad.statusCode, JSON.stringify(headers)).toBe(401);
      expect(bad.json().code).toMatch(/^(invalid_token|unauthorized)$/);
    }
    // Basic auth is not a credential Loam accepts.
    expect((await get('/api/v1/api-keys', { authorization: 'Basic dXNlcjpwYXNz' })).statusCode).toBe(401);

    // The Atriumn family: {error, error_description}.
    const atriumnNone = await get('/test/needs-storage', {});
    expect(atriumnNone.statusCode).toBe(401);
    expect(atriumnNone.json()).toEqual({ error: 'unauthorized', error_description: expect.any(String), request_id: expect.any(String) });
    const atriumnBad = await get('/test/needs-storage', { authorization: 'Bearer loam_sk_wrong' });
    expect(atriumnBad.statusCode).toBe(401);
    expect(atriumnBad.headers['www-authenticate']).toMatch(/invalid_token/);
    expect(atriumnBad.json()).toMatchObject({ error: 'invalid_token', error_description: expect.any(String) });
    const { data: keyAdmin } = (await create({ name: 'no storage', scopes: ['auth:admin'] })).json();
    const atriumnForbidden = await get('/test/needs-storage', { authorization: `Bearer ${keyAdmin.key}` });
    expect(atriumnForbidden.statusCode).toBe(403);
    expect(atriumnForbidden.json()).toMatchObject({ error: 'forbidden', error_description: expect.stringContaining('storage:read') });
    // A bare service scope grants its read and write scopes.
    const { data: storage } = (await create({ name: 'storage', scopes: ['storage'] })).json();
    const ok = await get('/test/needs-storage', { authorization: `Bearer ${storage.key}` });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ subject: storage.id });
  });

  it('an expired key is refused', async () => {
    const expires = new Date(clock.now() + 3_600_000).toISOString();
    const { data } = (await create({ name: 'short lived', scopes: ['auth:admin'], expires_at: expires })).json();
    expect(data.expires_at).toBe(expires.replace(/\.\d{3}Z$/, 'Z'));
    expect((await get('/api/v1/api-keys', { 'x-api-key': data.key })).statusCode).toBe(200);
    clock.advance(3_600_000);
    const res = await get('/api/v1/api-keys', { 'x-api-key': data.key });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid_token');
  });

  it('records last_used_at', async () => {
    const { data } = (await create({ name: 'used', scopes: ['auth:admin'] })).json();
    expect(data.last_used_at).toBeNull();
    expect((await get('/api/v1/api-keys', { 'x-api-key': data.key })).statusCode).toBe(200);
    const usedAt = await eventually(async () => (await get(`/api/v1/api-keys/${data.id}`, t.admin)).json().data.last_used_at);
    expect(usedAt).toBe(new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  });

  it("another tenant's key is 404: get, revoke and rotate", async () => {
    await t.loam.platform.transaction((tx) => t.loam.services.tenants.ensure(tx, 'acme', 'Acme'));
    const foreign = await t.loam.services.apiKeys.create('acme', { name: 'acme admin', scopes: ['auth:admin'] });
    for (const [method, url] of [
      ['GET', `/api/v1/api-keys/${foreign.id}`],
      ['DELETE', `/api/v1/api-keys/${foreign.id}`],
      ['POST', `/api/v1/api-keys/${foreign.id}/rotate`],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: t.admin });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json().code).toBe('not_found');
    }
    // The foreign key still works (the 404s changed nothing), in its own tenant only.
    const own = await get('/api/v1/api-keys', { 'x-api-key': foreign.key });
    expect(own.statusCode).toBe(200);
    expect(own.json().data.map((k: { tenant_id: string }) => k.tenant_id)).toEqual(['acme']);
    const list = (await get('/api/v1/api-keys?limit=1000', t.admin)).json();
    expect(list.data.some((k: { id: string }) => k.id === foreign.id)).toBe(false);
    // An unknown id is 404 too, a malformed one 400.
    expect((await get('/api/v1/api-keys/key_nope', t.admin)).statusCode).toBe(404);
    expect((await get('/api/v1/api-keys/bad%20id', t.admin)).statusCode).toBe(400);
  });

  it('creating, rotating and revoking emit CloudEvents in the same transaction', async () => {
    const { data } = (await create({ name: 'evented' })).json();
    await t.app.inject({ method: 'POST', url: `/api/v1/api-keys/${data.id}/rotate`, headers: t.admin });
    await t.app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${data.id}`, headers: t.admin });
    const rows = await t.loam.platform.database.db
      .selectFrom('outbox_events')
      .select(['type', 'tenant_id'])
      .where('subject', '=', data.id)
      .orderBy('seq')
      .execute();
    expect(rows).toEqual([
      { type: 'io.loam.apikey.created', tenant_id: 'default' },
      { type: 'io.loam.apikey.rotated', tenant_id: 'default' },
      { type: 'io.loam.apikey.revoked', tenant_id: 'default' },
    ]);
  });
});

describeEachDialect('API keys and Cedar policies', (dialect) => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ dialect });
  });
  afterAll(() => t.close());

  it("a tenant's forbid on Loam::Credential refuses the API key routes; other resource types stay permitted", async () => {
    const admin = await keyHeaders(t, 'cedar-keys', { roles: ['admin'] });
    const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
      t.app.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
    const { data: key } = (await call('POST', '/api/v1/api-keys', { name: 'before the policy' })).json();
    for (const policy of ['permit(principal, action, resource);', 'forbid(principal, action, resource is Loam::Credential);'])
      expect((await call('POST', '/api/v1/admin/policies', { name: policy.slice(0, 20), policy })).statusCode).toBe(201);

    for (const [method, url, body] of [
      ['GET', '/api/v1/api-keys', undefined],
      ['GET', `/api/v1/api-keys/${key.id}`, undefined],
      ['POST', '/api/v1/api-keys', { name: 'refused' }],
      ['POST', `/api/v1/api-keys/${key.id}/rotate`, undefined],
      ['DELETE', `/api/v1/api-keys/${key.id}`, undefined],
    ] as const) {
      const res = await call(method, url, body);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json()).toMatchObject({ code: 'forbidden', status: 403 });
    }
    // Nothing changed: the key is neither revoked nor rotated, and no key was added.
    const stored = await t.loam.platform.database.db
      .selectFrom('api_keys')
      .select(['name', 'revoked_at', 'hash'])
      .where('tenant_id', '=', 'cedar-keys')
      .execute();
    expect(stored.map((k) => k.name).sort()).toEqual(['before the policy', expect.stringMatching(/^test key/)]);
    expect(stored.every((k) => k.revoked_at === null)).toBe(true);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { 'x-api-key': key.key } })).statusCode).toBe(200);
    // The permit still works for another resource type (policies), and the denials were recorded.
    const policies = await call('GET', '/api/v1/admin/policies');
    expect(policies.statusCode).toBe(200);
    const denied = await t.loam.platform.database.db
      .selectFrom('outbox_events')
      .select('data')
      .where('tenant_id', '=', 'cedar-keys')
      .where('type', '=', 'io.loam.access.denied')
      .execute();
    expect(denied.length).toBe(5);
    expect(JSON.parse(denied[0].data)).toMatchObject({ action: 'auth:admin', resource_type: 'Credential' });

    // Without the forbid, the routes answer again.
    const forbid = policies.json().data.find((p: { effect: string }) => p.effect === 'forbid');
    expect((await call('DELETE', `/api/v1/admin/policies/${forbid.id}`)).statusCode).toBe(204);
    expect((await call('GET', `/api/v1/api-keys/${key.id}`)).statusCode).toBe(200);
  });
});

describeEachDialect('verified API keys cache', (dialect) => {
  const opened: TestLoam[] = [];
  afterAll(async () => {
    for (const t of opened.reverse()) await t.close();
  });

  it('another instance trusts a verified key for at most LOAM_API_KEY_CACHE_MS; the revoking instance forgets it at once', async () => {
    const clock = new ManualClock();
    const a = await createTestLoam({ dialect, clock, config: { apiKeyCacheMs: 2000 } });
    opened.push(a);
    const b = await createTestLoam({ dialect, clock, dataDir: a.dataDir, databaseUrl: a.databaseUrl, config: { apiKeyCacheMs: 2000 } });
    const c = await createTestLoam({ dialect, clock, dataDir: a.dataDir, databaseUrl: a.databaseUrl, config: { apiKeyCacheMs: 0 } });
    opened.push(b, c);
    const { data: key } = (
      await a.app.inject({ method: 'POST', url: '/api/v1/api-keys', headers: a.admin, payload: { name: 'cached', scopes: ['storage'] } })
    ).json();
    const whoami = (t: TestLoam) => t.app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { 'x-api-key': key.key } });
    for (const t of [a, b, c]) expect((await whoami(t)).statusCode).toBe(200);

    expect((await a.app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${key.id}`, headers: a.admin })).statusCode).toBe(204);
    expect((await whoami(a)).statusCode).toBe(401); // this instance: at once
    expect((await whoami(c)).statusCode).toBe(401); // cache off: at once
    expect((await whoami(b)).statusCode).toBe(200); // another instance: within the TTL
    clock.advance(2000);
    expect((await whoami(b)).statusCode).toBe(401);
  });

  it('a cached key is still refused once it expires, and a rotated secret is refused at once', async () => {
    const clock = new ManualClock();
    const t = await createTestLoam({ dialect, clock, config: { apiKeyCacheMs: 10_000 } });
    opened.push(t);
    const create = async (body: object) =>
      (await t.app.inject({ method: 'POST', url: '/api/v1/api-keys', headers: t.admin, payload: body })).json().data;
    const whoami = (secret: string) => t.app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { 'x-api-key': secret } });
    const shortLived = await create({ name: 'short', expires_at: new Date(clock.now() + 1000).toISOString() });
    expect((await whoami(shortLived.key)).statusCode).toBe(200);
    clock.advance(1000);
    expect((await whoami(shortLived.key)).statusCode).toBe(401);

    const rotating = await create({ name: 'rotating' });
    expect((await whoami(rotating.key)).statusCode).toBe(200);
    const rotated = (await t.app.inject({ method: 'POST', url: `/api/v1/api-keys/${rotating.id}/rotate`, headers: t.admin })).json().data;
    expect((await whoami(rotating.key)).statusCode).toBe(401);
    expect((await whoami(rotated.key)).statusCode).toBe(200);
  });
});
