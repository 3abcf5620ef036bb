import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';

const BASE = '/api/v1/admin/tenants';

describeEachDialect('tenants: the operator API', (dialect) => {
  let t: TestLoam;
  const call = apiCaller(() => t);
  let acmeAdmin: Record<string, string>;

  beforeAll(async () => {
    t = await createTestLoam({ dialect });
    const created = await call('POST', BASE, { id: 'acme', name: 'Acme', tier: 'free' });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`${BASE}/acme`);
    expect(created.json.data).toMatchObject({ id: 'acme', name: 'Acme', tier: 'free', status: 'active', quotas: {} });
    acmeAdmin = await keyHeaders(t, 'acme', { roles: ['admin'], scopes: ['*'] });
  });
  afterAll(() => t.close());

  it('only platform admins reach the operator API; a tenant admin is refused on every route', async () => {
    for (const [method, url, body] of [
      ['GET', BASE],
      ['POST', BASE, { id: 'sneaky', name: 'x' }],
      ['GET', `${BASE}/acme`],
      ['PATCH', `${BASE}/acme`, { tier: 'enterprise' }],
      ['DELETE', `${BASE}/acme`],
      ['GET', `${BASE}/acme/usage`],
    ] as const) {
      // The collection answers 403; a tenant answers 404 (its existence is not revealed).
      const denied = await call(method, url, body, acmeAdmin);
      expect(denied.status, `${method} ${url}`).toBe(url === BASE ? 403 : 404);
      expect((await call(method, url, body, { 'x-api-key': '' })).status, `${method} ${url} anonymous`).toBe(401);
    }
    expect((await call('GET', `${BASE}/sneaky`)).status).toBe(404);
    expect((await call('GET', `${BASE}/acme`)).json.data.tier).toBe('free');
  });

  it('validates ids, refuses duplicates, lists and reads', async () => {
    for (const id of ['../../x', 'A', 'UPPER', '-lead', 'x', 'a_b', 'a'.repeat(64)]) {
      const bad = await call('POST', BASE, { id, name: 'bad' });
      expect(bad.status, id).toBe(400);
    }
    expect((await call('POST', BASE, { id: 'acme', name: 'again' })).status).toBe(409);
    expect((await call('POST', BASE, { id: 'lister', name: 'L', tier: 'professional' })).json.data.tier).toBe('standard');
    const list = await call('GET', `${BASE}?count=true`);
    expect(list.status).toBe(200);
    expect(list.json.data.map((x: { id: string }) => x.id)).toEqual(expect.arrayContaining(['acme', 'default', 'lister']));
    expect(list.json.pagination.total_count).toBeGreaterThanOrEqual(3);
  });

  it('the tier drives the rate limit, and a change applies at once', async () => {
    const free = await call('GET', '/api/v1/whoami', undefined, acmeAdmin);
    expect(free.status).toBe(200);
    expect(free.headers['x-ratelimit-limit']).toBe('60');
    expect((await call('PATCH', `${BASE}/acme`, { tier: 'enterprise' })).json.data.tier).toBe('enterprise');
    expect((await call('GET', '/api/v1/whoami', undefined, acmeAdmin)).headers['x-ratelimit-limit']).toBe('6000');
    await call('PATCH', `${BASE}/acme`, { tier: 'standard' });
    expect((await call('GET', '/api/v1/whoami', undefined, acmeAdmin)).headers['x-ratelimit-limit']).toBe('600');
  });

  it('a suspended tenant gets 403 tenant_suspended on every request; reactivation restores access', async () => {
    const suspended = await call('PATCH', `${BASE}/acme`, { status: 'suspended' });
    expect(suspended.json.data.status).toBe('suspended');
    for (const [method, url] of [
      ['GET', '/api/v1/whoami'],
      ['GET', '/api/v1/datasets'],
      ['POST', '/prompts'],
    ] as const) {
      const r = await call(method, url, method === 'POST' ? { name: 'p', template: 'x' } : undefined, acmeAdmin);
      expect(r.status, url).toBe(403);
      expect(r.body).toContain('tenant_suspended');
    }
    // A platform admin acting on the suspended tenant is refused as well.
    expect((await call('GET', '/prompts?tenantId=acme')).status).toBe(403);
    // Nobody suspends their own tenant (the operator would lock itself out).
    expect((await call('PATCH', `${BASE}/default`, { status: 'suspended' })).status).toBe(409);
    await call('PATCH', `${BASE}/acme`, { status: 'active' });
    expect((await call('GET', '/api/v1/whoami', undefined, acmeAdmin)).status).toBe(200);
  });

  it('no route creates a tenant: unknown ids get 404 tenant_not_found, malformed ones 400', async () => {
    const cases: [string, string, unknown][] = [
      ['POST', '/prompts', { name: 'p', template: 'x', tenantId: 'ghost' }],
      ['GET', '/prompts?tenantId=ghost', undefined],
      ['POST', '/ingest/text', { content: 'hello', tenantId: 'ghost' }],
      ['GET', '/api/v1/admin/users?tenant_id=ghost', undefined],
      ['POST', '/generate-upload-url', { filename: 'a.txt', contentType: 'text/plain', tenantId: 'ghost' }],
    ];
    for (const [method, url, body] of cases) {
      const r = await call(method, url, body);
      expect(r.status, `${method} ${url}`).toBe(404);
      expect(r.body).toContain('tenant_not_found');
      const bad = await call(method, url.replace('ghost', '..%2F..%2Fx'), body && { ...(body as object), tenantId: '../../x' });
      expect(bad.status, `${method} ${url} malformed`).toBe(400);
    }
    // The multipart form's tenantId field is checked too.
    const boundary = 'loamboundary';
    const form = [
      `--${boundary}\r\nContent-Disposition: form-data; name="tenantId"\r\n\r\nghost\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n`,
      `--${boundary}--\r\n`,
    ].join('');
    const multipart = await call('POST', '/ingest/file', form, { 'content-type': `multipart/form-data; boundary=${boundary}` });
    expect(multipart.status).toBe(404);
    expect(await t.loam.services.tenants.get('ghost')).toBeUndefined();
  });

  it('quotas are enforced: datasets, prompts, records and content items', async () => {
    // Enterprise: a burst far above the requests below (the standard tier's 50 can run out in a fast run).
    const quota = await call('PATCH', `${BASE}/acme`, {
      tier: 'enterprise',
      quotas: { datasets: 1, prompts: 1, records: 2, content_items: 1 },
    });
    expect(quota.json.data.quotas).toMatchObject({ datasets: 1, prompts: 1, records: 2, content_items: 1 });
    const schema = { fields: [{ name: 'n', type: 'integer' }] };
    const ds = await call('POST', '/api/v1/datasets', { name: 'one', schema }, acmeAdmin);
    expect(ds.status, ds.body).toBe(201);
    const second = await call('POST', '/api/v1/datasets', { name: 'two', schema }, acmeAdmin);
    expect(second.status).toBe(403);
    expect(second.json.code ?? second.json.type).toMatch(/quota_exceeded/);
    const id = ds.json.data.id;
    const tooMany = await call(
      'POST',
      `/api/v1/datasets/${id}/records`,
      [{ data: { n: 1 } }, { data: { n: 2 } }, { data: { n: 3 } }],
      acmeAdmin,
    );
    expect(tooMany.status).toBe(403);
    expect((await call('POST', `/api/v1/datasets/${id}/records`, [{ data: { n: 1 } }, { data: { n: 2 } }], acmeAdmin)).status).toBe(201);
    expect((await call('POST', '/prompts', { name: 'a', template: 'x' }, acmeAdmin)).status).toBe(201);
    expect((await call('POST', '/prompts', { name: 'b', template: 'x' }, acmeAdmin)).status).toBe(403);
    expect((await call('POST', '/ingest/text', { content: 'one' }, acmeAdmin)).status).toBeLessThan(300);
    expect((await call('POST', '/ingest/text', { content: 'two' }, acmeAdmin)).status).toBe(403);
    // Lifting a quota (null) applies at once.
    await call('PATCH', `${BASE}/acme`, { quotas: { datasets: null } });
    const lifted = await call('POST', '/api/v1/datasets', { name: 'two', schema }, acmeAdmin);
    expect(lifted.status, lifted.body).toBe(201);
  });

  it('reports usage per day: requests, and what the tenant holds', async () => {
    for (let i = 0; i < 3; i++) await call('GET', '/api/v1/whoami', undefined, acmeAdmin);
    const usage = await call('GET', `${BASE}/acme/usage?days=7`);
    expect(usage.status).toBe(200);
    const data = usage.json.data;
    expect(data).toMatchObject({ tenant_id: 'acme', datasets: 2, records: 2, prompts: 1, content_items: 1 });
    const today = new Date().toISOString().slice(0, 10);
    expect(data.days.find((d: { day: string }) => d.day === today).requests).toBeGreaterThanOrEqual(3);
    expect((await call('GET', `${BASE}/nope/usage`)).status).toBe(404);
  });
});
