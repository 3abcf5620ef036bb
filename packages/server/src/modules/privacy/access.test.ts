import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';

const BASE = '/api/v1/anonymization';
const RECOGNIZER = { name: 'ticket', entity_type: 'TICKET_ID', patterns: [{ regex: 'TCK-[0-9]{6}', score: 0.9 }] };

/**
 * A tenant's Cedar policies decide access to the privacy module's resources: recognizers and ε
 * budgets (`Loam::Resource` with `resource.type` "recognizer" / "privacy_budget") and keys
 * (`Loam::Key`: reversing tokens and ciphertexts, rotating the master key).
 */
describeEachDialect('privacy resources under Cedar policies', (dialect) => {
  let t: TestLoam;
  let use: Record<string, string>;
  let reverse: Record<string, string>;
  let admin: Record<string, string>;
  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false, privacyDefaultEpsilon: 1 } });
    use = await keyHeaders(t, 'cedar-privacy', { scopes: ['anonymization:use'] });
    reverse = await keyHeaders(t, 'cedar-privacy', { scopes: ['anonymization:use', 'anonymization:reverse'] });
    admin = await keyHeaders(t, 'cedar-privacy', { roles: ['admin'] });
  });
  afterAll(() => t?.close());

  const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, headers: Record<string, string>, body?: object) =>
    t.app.inject({ method, url, headers, ...(body ? { payload: body } : {}) });
  const policy = async (name: string, text: string, headers = admin) => {
    const r = await call('POST', '/api/v1/admin/policies', headers, { name, policy: text });
    expect(r.statusCode, r.body).toBe(201);
    return r.json().data.id as string;
  };
  const expectDenied = (r: { statusCode: number; json(): { code: string } }, what: string) => {
    expect(r.statusCode, what).toBe(403);
    expect(r.json().code, what).toBe('forbidden');
  };

  it('a forbid on recognizers answers 403 and hides them from lists; budgets stay permitted', async () => {
    const created = await call('POST', `${BASE}/recognizers`, use, RECOGNIZER);
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().data.id as string;
    await policy('everything', 'permit(principal, action, resource);');
    const forbid = await policy(
      'no recognizers',
      'forbid(principal, action, resource is Loam::Resource) when { resource.type == "recognizer" };',
    );

    expectDenied(await call('GET', `${BASE}/recognizers/${id}`, use), 'get');
    expectDenied(await call('PATCH', `${BASE}/recognizers/${id}`, use, { context: ['ticket'] }), 'update');
    expectDenied(await call('DELETE', `${BASE}/recognizers/${id}`, use), 'delete');
    expectDenied(await call('POST', `${BASE}/recognizers`, use, { ...RECOGNIZER, name: 'another' }), 'create');
    const list = await call('GET', `${BASE}/recognizers`, use);
    expect(list.statusCode).toBe(200);
    expect(list.json().data).toEqual([]);
    // Other resource types are still permitted.
    expect((await call('GET', `${BASE}/budgets/some_subject`, use)).statusCode).toBe(200);

    expect((await call('DELETE', `/api/v1/admin/policies/${forbid}`, admin)).statusCode).toBe(204);
    expect((await call('GET', `${BASE}/recognizers/${id}`, use)).statusCode).toBe(200);
  });

  it('a forbid on budgets refuses aggregates, reads and changes of them', async () => {
    const forbid = await policy(
      'no budgets',
      'forbid(principal, action, resource is Loam::Resource) when { resource.type == "privacy_budget" };',
    );
    const aggregate = { budget: 'reports', records: [{ age: 30 }, { age: 40 }], query: { type: 'count', epsilon: 0.1 } };
    expectDenied(await call('POST', `${BASE}/aggregate`, use, aggregate), 'aggregate');
    expectDenied(await call('GET', `${BASE}/budgets/reports`, use), 'get');
    expectDenied(await call('PUT', `${BASE}/budgets/reports`, admin, { epsilon_total: 3 }), 'set');
    expect((await call('GET', `${BASE}/recognizers`, use)).statusCode).toBe(200);

    expect((await call('DELETE', `/api/v1/admin/policies/${forbid}`, admin)).statusCode).toBe(204);
    const allowed = await call('POST', `${BASE}/aggregate`, use, aggregate);
    expect(allowed.statusCode, allowed.body).toBe(200);
    expect(allowed.json().data.budget).toMatchObject({ subject: 'reports', epsilon_spent: 0.1 });
  });

  it('a forbid on Loam::Key refuses reversing tokens, and rotating the master key in the admin’s tenant', async () => {
    const token = (
      await call('POST', `${BASE}/anonymize`, use, { text: 'mail a@b.io', operators: { EMAIL_ADDRESS: { type: 'tokenize' } } })
    ).json().data.text as string;
    const forbid = await policy('no keys', 'forbid(principal, action, resource is Loam::Key);');
    expectDenied(await call('POST', `${BASE}/deanonymize`, reverse, { text: token }), 'deanonymize');
    // Anonymizing (no key resource of the caller's) is unaffected.
    expect((await call('POST', `${BASE}/analyze`, use, { text: 'a@b.io' })).statusCode).toBe(200);
    expect((await call('DELETE', `/api/v1/admin/policies/${forbid}`, admin)).statusCode).toBe(204);
    expect((await call('POST', `${BASE}/deanonymize`, reverse, { text: token })).json().data.text).toBe('mail a@b.io');

    // The platform admin's own tenant forbids key administration: rotation is refused.
    await policy('everything', 'permit(principal, action, resource);', t.admin);
    const noRotation = await policy('no rotation', 'forbid(principal, action == Loam::Action::"admin", resource is Loam::Key);', t.admin);
    expectDenied(await call('POST', '/api/v1/admin/keys/rotate', t.admin, {}), 'rotate');
    expect((await call('DELETE', `/api/v1/admin/policies/${noRotation}`, t.admin)).statusCode).toBe(204);
    expect((await call('POST', '/api/v1/admin/keys/rotate', t.admin, {})).statusCode).toBe(200);
  });
});
