import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';

/** A tenant's Cedar policies decide access to its prompts (resource type `Loam::Prompt`). */
describeEachDialect('prompts under Cedar policies', (dialect) => {
  let t: TestLoam;
  let ai: { 'x-api-key': string };
  let admin: { 'x-api-key': string };
  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
    ai = await keyHeaders(t, 'cedar-prompts', { scopes: ['ai:read', 'ai:write'] });
    admin = await keyHeaders(t, 'cedar-prompts', { roles: ['admin'] });
  });
  afterAll(() => t?.close());

  const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: object, headers: Record<string, string> = ai) =>
    t.app.inject({ method, url, headers, ...(body ? { payload: body } : {}) });
  const policy = async (name: string, text: string) => {
    const r = await call('POST', '/api/v1/admin/policies', { name, policy: text }, admin);
    expect(r.statusCode, r.body).toBe(201);
    return r.json().data.id as string;
  };

  it('a forbid on reading Loam::Prompt answers 403 in the Atriumn format; writes stay permitted', async () => {
    const created = await call('POST', '/prompts', { name: 'guarded', template: 'Hi {{who}}', variables: [{ name: 'who' }] });
    expect(created.statusCode).toBe(201);
    const id = created.json().prompt.id as string;
    await policy('everything', 'permit(principal, action, resource);');
    const forbid = await policy('no prompt reads', 'forbid(principal, action == Loam::Action::"read", resource is Loam::Prompt);');

    for (const [method, url, body] of [
      ['GET', `/prompts/${id}`],
      ['GET', `/prompts/${id}/versions`],
      ['POST', `/prompts/${id}/render`, { variables: { who: 'x' } }],
    ] as const) {
      const r = await call(method, url, body);
      expect(r.statusCode, url).toBe(403);
      expect(r.json(), url).toEqual({
        error: 'forbidden',
        error_description: expect.stringContaining('Access denied'),
        request_id: expect.any(String),
      });
    }
    // Lists leave out what the caller may not read.
    expect((await call('GET', '/prompts')).json().prompts).toEqual([]);
    // The permit still covers writes, and other resource types (the policies themselves).
    const updated = await call('PUT', `/prompts/${id}`, { description: 'still writable' });
    expect(updated.statusCode, updated.body).toBe(200);
    expect(updated.json().prompt.version).toBe(2);
    expect((await call('GET', `/api/v1/admin/policies/${forbid}`, undefined, admin)).statusCode).toBe(200);

    expect((await call('DELETE', `/api/v1/admin/policies/${forbid}`, undefined, admin)).statusCode).toBe(204);
    expect((await call('GET', `/prompts/${id}`)).statusCode).toBe(200);
  });
});
