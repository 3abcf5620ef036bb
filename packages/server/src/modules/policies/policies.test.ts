import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';

const BASE = '/api/v1/admin/policies';
const PERMIT_READ = 'permit(principal, action == Loam::Action::"read", resource is Loam::Dataset);';
const FORBID_RESTRICTED =
  'forbid(principal, action, resource) when { resource.classification == "restricted" && principal.clearance < 3 };';

describeEachDialect('policies API', (dialect) => {
  let t: TestLoam;
  let other: { 'x-api-key': string };
  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
    other = await keyHeaders(t, 'tenant-b', { roles: ['admin'] });
  });
  afterAll(() => t?.close());

  const create = (body: unknown, headers: Record<string, string> = t.admin) =>
    t.app.inject({ method: 'POST', url: BASE, headers, payload: body as object });

  it('creates a policy: 201, Location, ETag, envelope with typed fields', async () => {
    const res = await create({ name: 'analysts read datasets', description: 'why', policy: PERMIT_READ });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    const p = body.data;
    expect(p).toMatchObject({
      name: 'analysts read datasets',
      description: 'why',
      effect: 'permit',
      policy: PERMIT_READ,
      version: 1,
      tenant_id: 'default',
    });
    expect(p.id).toMatch(/^pol_[0-9A-Z]{26}$/);
    expect(res.headers.location).toBe(`${BASE}/${p.id}`);
    expect(res.headers.etag).toBe('"1"');
    expect(p.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(body.metadata.resource_version).toBe('1');
  });

  it('rejects what does not validate against the schema with 400 and Cedar’s message', async () => {
    const unknownAttr = await create({ name: 'bad attr', policy: 'permit(principal, action, resource) when { principal.shoe_size > 3 };' });
    expect(unknownAttr.statusCode).toBe(400);
    expect(unknownAttr.headers['content-type']).toMatch(/problem\+json/);
    const b = unknownAttr.json();
    expect(b.code).toBe('validation_error');
    expect(b.detail).toContain('attribute `shoe_size`');
    expect(b.errors[0]).toMatchObject({ field: 'policy', code: 'invalid_policy' });

    const syntax = await create({ name: 'bad syntax', policy: 'permit(principal, action' });
    expect(syntax.statusCode).toBe(400);
    expect(syntax.json().detail).toMatch(/unexpected end of input/);

    const unknownType = await create({ name: 'bad type', policy: 'permit(principal is Loam::Robot, action, resource);' });
    expect(unknownType.statusCode).toBe(400);
    expect(unknownType.json().detail).toMatch(/Robot/);

    const typeError = await create({
      name: 'type error',
      policy: 'permit(principal, action, resource) when { principal.clearance == "high" };',
    });
    expect(typeError.statusCode).toBe(400);

    const two = await create({ name: 'two', policy: PERMIT_READ + FORBID_RESTRICTED });
    expect(two.statusCode).toBe(400);
    expect(two.json().detail).toMatch(/exactly one/);

    const template = await create({ name: 'template', policy: 'permit(principal == ?principal, action, resource);' });
    expect(template.statusCode).toBe(400);
    expect(template.json().detail).toMatch(/templates/);

    const missing = await create({ name: 'no text' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().code).toBe('validation_error');
  });

  it('gets, patches, replaces and deletes; the version moves and If-Match guards', async () => {
    const created = (await create({ name: 'restricted', policy: FORBID_RESTRICTED })).json().data;
    const url = `${BASE}/${created.id}`;

    const got = await t.app.inject({ method: 'GET', url, headers: t.admin });
    expect(got.statusCode).toBe(200);
    expect(got.json().data).toEqual(created);
    const notModified = await t.app.inject({ method: 'GET', url, headers: { ...t.admin, 'if-none-match': '"1"' } });
    expect(notModified.statusCode).toBe(304);

    const patched = await t.app.inject({ method: 'PATCH', url, headers: t.admin, payload: { description: 'clearance 3 for restricted' } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().data).toMatchObject({ description: 'clearance 3 for restricted', policy: FORBID_RESTRICTED, version: 2 });

    const stale = await t.app.inject({ method: 'PATCH', url, headers: { ...t.admin, 'if-match': '"1"' }, payload: { name: 'x' } });
    expect(stale.statusCode).toBe(412);
    expect(stale.json().code).toBe('precondition_failed');

    const invalid = await t.app.inject({
      method: 'PATCH',
      url,
      headers: t.admin,
      payload: { policy: 'forbid(principal, action, resource) when { resource.nope };' },
    });
    expect(invalid.statusCode).toBe(400);

    const replaced = await t.app.inject({
      method: 'PUT',
      url,
      headers: { ...t.admin, 'if-match': '"2"' },
      payload: { name: 'read only', policy: PERMIT_READ },
    });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json().data).toMatchObject({ name: 'read only', description: '', effect: 'permit', version: 3 });

    const del = await t.app.inject({ method: 'DELETE', url, headers: t.admin });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expect((await t.app.inject({ method: 'GET', url, headers: t.admin })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url, headers: t.admin })).statusCode).toBe(404);
  });

  it('names are unique per tenant (409) but not across tenants', async () => {
    expect((await create({ name: 'dup', policy: PERMIT_READ })).statusCode).toBe(201);
    expect((await create({ name: 'dup', policy: PERMIT_READ })).statusCode).toBe(409);
    expect((await create({ name: 'dup', policy: PERMIT_READ }, other)).statusCode).toBe(201);
  });

  it('lists with cursor pagination, never another tenant’s policies', async () => {
    for (let i = 0; i < 3; i++) await create({ name: `page ${i}`, policy: PERMIT_READ });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await t.app.inject({
        method: 'GET',
        url: BASE,
        headers: t.admin,
        query: { limit: '2', count: 'true', ...(cursor ? { cursor } : {}) },
      });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.data.length).toBeLessThanOrEqual(2);
      expect(Number.isInteger(body.pagination.total_count)).toBe(true);
      for (const p of body.data) {
        expect(p.tenant_id).toBe('default');
        seen.push(p.id);
      }
      cursor = body.pagination.has_more ? body.pagination.cursor : undefined;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(4);
    const tampered = await t.app.inject({ method: 'GET', url: BASE, headers: t.admin, query: { cursor: 'abc.def' } });
    expect(tampered.statusCode).toBe(400);
  });

  it('another tenant’s policy is 404 for every verb', async () => {
    const mine = (await create({ name: 'mine', policy: PERMIT_READ })).json().data;
    const url = `${BASE}/${mine.id}`;
    expect((await t.app.inject({ method: 'GET', url, headers: other })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'PATCH', url, headers: other, payload: { name: 'stolen' } })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'PUT', url, headers: other, payload: { name: 'stolen', policy: PERMIT_READ } })).statusCode).toBe(
      404,
    );
    expect((await t.app.inject({ method: 'DELETE', url, headers: other })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url, headers: t.admin })).json().data.name).toBe('mine');
  });

  it('roles decide who may read and write policies', async () => {
    const auditor = await keyHeaders(t, 'default', { roles: ['auditor'] });
    const scientist = await keyHeaders(t, 'default', { roles: ['data_scientist'] });
    expect((await t.app.inject({ method: 'GET', url: BASE, headers: auditor })).statusCode).toBe(200);
    expect((await create({ name: 'by auditor', policy: PERMIT_READ }, auditor)).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: BASE, headers: scientist })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: BASE })).statusCode).toBe(401);
  });

  it('serves the Cedar schema and the role table', async () => {
    const res = await t.app.inject({ method: 'GET', url: `${BASE}/schema`, headers: t.admin });
    expect(res.statusCode).toBe(200);
    const d = res.json().data;
    expect(d.schema).toContain('namespace Loam');
    expect(d.role_scopes.auditor).toContain('audit:read');
    expect(d.cedar_version).toMatch(/^\d+\.\d+/);
  });

  it('emits policy.created, policy.updated and policy.deleted in the same transaction', async () => {
    const p = (await create({ name: 'evented', policy: PERMIT_READ })).json().data;
    await t.app.inject({ method: 'PATCH', url: `${BASE}/${p.id}`, headers: t.admin, payload: { description: 'd' } });
    await t.app.inject({ method: 'DELETE', url: `${BASE}/${p.id}`, headers: t.admin });
    const rows = await t.loam.platform.database.db
      .selectFrom('outbox_events')
      .select(['type', 'data'])
      .where('subject', '=', p.id)
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => r.type)).toEqual(['io.loam.policy.created', 'io.loam.policy.updated', 'io.loam.policy.deleted']);
    const data = typeof rows[0].data === 'string' ? JSON.parse(rows[0].data) : rows[0].data;
    expect(data).toMatchObject({ id: p.id, actor: expect.stringMatching(/^key_/), actor_kind: 'api_key', effect: 'permit' });
  });

  it('enforces the per-tenant policy quota (403 quota_exceeded)', async () => {
    const small = await createTestLoam({ dialect, config: { rateLimitEnabled: false, policiesMaxPerTenant: 2 } });
    try {
      const mk = (name: string) =>
        small.app.inject({ method: 'POST', url: BASE, headers: small.admin, payload: { name, policy: PERMIT_READ } });
      expect((await mk('a')).statusCode).toBe(201);
      expect((await mk('b')).statusCode).toBe(201);
      const third = await mk('c');
      expect(third.statusCode).toBe(403);
      expect(third.json().code).toBe('quota_exceeded');
    } finally {
      await small.close();
    }
  });

  it('rejects oversized policy text with 400', async () => {
    const huge = `permit(principal, action, resource) when { ${'principal.department == "x" || '.repeat(2500)}true };`;
    const res = await create({ name: 'huge', policy: huge });
    expect(res.statusCode).toBe(400);
  });
});

describe('policies API without Cedar-valid input', () => {
  it('an unknown field in the body is rejected, not ignored', async () => {
    const t = await createTestLoam({ config: { rateLimitEnabled: false } });
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: BASE,
        headers: t.admin,
        payload: { name: 'x', policy: PERMIT_READ, effect: 'forbid' },
      });
      expect(res.statusCode).toBe(400);
    } finally {
      await t.close();
    }
  });
});

describeEachDialect('policies: the tenant’s Cedar policies apply to its policies', (dialect) => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
  });
  afterAll(() => t?.close());

  it('a forbid on reading Loam::Policy answers 403 to a caller the scopes allow; writes and other types still work', async () => {
    const tenantAdmin = await keyHeaders(t, 'cedar-policies', { roles: ['admin'] });
    const auditor = await keyHeaders(t, 'cedar-policies', { roles: ['auditor'] });
    const create = (name: string, policy: string) =>
      t.app.inject({ method: 'POST', url: BASE, headers: tenantAdmin, payload: { name, policy } });
    const forbid = (
      await create(
        'auditors do not read policies',
        'forbid(principal in Loam::Role::"auditor", action == Loam::Action::"read", resource is Loam::Policy);',
      )
    ).json().data;
    const url = `${BASE}/${forbid.id}`;

    const list = await t.app.inject({ method: 'GET', url: BASE, headers: auditor });
    expect(list.statusCode).toBe(403);
    expect(list.json()).toMatchObject({ code: 'forbidden', detail: `Access denied: forbidden by policy ${forbid.id}` });
    expect((await t.app.inject({ method: 'GET', url, headers: auditor })).statusCode).toBe(403);
    // The admin is not forbidden, and no permit is needed on the tenant's own administration.
    expect((await t.app.inject({ method: 'GET', url, headers: tenantAdmin })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: BASE, headers: tenantAdmin })).json().data).toHaveLength(1);
    // The auditor still reads the audit log (another resource type).
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/admin/audit-logs', headers: auditor })).statusCode).toBe(200);

    const denied = await t.loam.platform.database.db
      .selectFrom('outbox_events')
      .select('data')
      .where('type', '=', 'io.loam.access.denied')
      .where('tenant_id', '=', 'cedar-policies')
      .execute();
    expect(denied.map((r) => JSON.parse(r.data))).toContainEqual(
      expect.objectContaining({ action: 'policies:read', resource_type: 'Policy', policy_ids: [forbid.id] }),
    );

    expect((await t.app.inject({ method: 'DELETE', url, headers: tenantAdmin })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: BASE, headers: auditor })).statusCode).toBe(200);
  });

  it('a forbid on writing policies stops the tenant admin, not the platform admin who can repair it', async () => {
    const tenantAdmin = await keyHeaders(t, 'default', { roles: ['admin'] });
    const lockout = (
      await t.app.inject({
        method: 'POST',
        url: BASE,
        headers: tenantAdmin,
        payload: { name: 'no policy changes', policy: 'forbid(principal, action == Loam::Action::"write", resource is Loam::Policy);' },
      })
    ).json().data;
    const attempt = await t.app.inject({
      method: 'POST',
      url: BASE,
      headers: tenantAdmin,
      payload: { name: 'another', policy: 'permit(principal, action, resource);' },
    });
    expect(attempt.statusCode).toBe(403);
    expect((await t.app.inject({ method: 'DELETE', url: `${BASE}/${lockout.id}`, headers: tenantAdmin })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'DELETE', url: `${BASE}/${lockout.id}`, headers: t.admin })).statusCode).toBe(204);
  });
});
