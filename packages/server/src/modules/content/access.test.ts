import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';
import { PERMIT_ALL, addPolicy, drain, keyFor } from './test/helpers.js';

const FORBIDDEN = {
  error: 'forbidden',
  error_description: expect.stringMatching(/^Access denied: forbidden by policy pol_/),
  request_id: expect.any(String),
};

describeEachDialect('content: Cedar policies on content items (Loam::Content)', (dialect) => {
  let t: TestLoam;
  let user: { authorization: string };
  let admin: { 'x-api-key': string };

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitMultiplier: 1000 } });
    user = await keyFor(t, 'cedar-content', ['ingest:read', 'ingest:write', 'storage:write']);
    admin = await keyHeaders(t, 'cedar-content', { roles: ['admin'] });
  });
  afterAll(() => t.close());

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, headers: Record<string, string> = user) =>
    t.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
  const ingest = async (content: string, headers: Record<string, string> = user): Promise<string> => {
    const res = await call('POST', '/ingest/text', { content }, headers);
    expect(res.statusCode).toBe(202);
    return res.json().id;
  };

  it('a forbid on reading content makes GET /content/{id} answer 403 though the scopes allow it', async () => {
    const id = await ingest('The lighthouse keeper logs every passing ship.');
    await drain(t);
    expect((await call('GET', `/content/${id}`)).statusCode).toBe(200);

    await addPolicy(t, admin, PERMIT_ALL);
    expect((await call('GET', `/content/${id}`)).statusCode).toBe(200);
    await addPolicy(t, admin, 'forbid(principal, action == Loam::Action::"read", resource is Loam::Content);');

    for (const url of [`/content/${id}`, `/content/${id}/text`, `/content/${id}/download-url`]) {
      const res = await call('GET', url);
      expect(res.statusCode, url).toBe(403);
      expect(res.json(), url).toEqual(FORBIDDEN);
    }
    // Lists and search leave out what may not be read; the counts are refused as a whole.
    const list = await call('GET', '/content');
    expect(list.statusCode).toBe(200);
    expect(list.json().items).toEqual([]);
    const search = await call('GET', '/api/v1/content/search?q=lighthouse');
    expect(search.statusCode).toBe(200);
    expect(search.json().data).toEqual([]);
    const stats = await call('GET', '/api/v1/content/stats');
    expect(stats.statusCode).toBe(403);
    expect(stats.json()).toMatchObject({ status: 403, code: 'forbidden' });

    // The permit still applies to writes, and to other resource types (files).
    const patched = await call('PATCH', `/content/${id}`, { metadata: { k: 'v' } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().metadata).toEqual({ k: 'v' });
    const upload = await call('POST', '/generate-upload-url', { filename: 'a.txt', contentType: 'text/plain' });
    expect(upload.statusCode).toBe(200);
  });

  it('a forbid on writing content refuses ingestion, changes and deletion', async () => {
    const id = await ingest('Tide tables for the northern harbour.');
    await addPolicy(t, admin, 'forbid(principal, action == Loam::Action::"write", resource is Loam::Content);');

    const text = await call('POST', '/ingest/text', { content: 'more' });
    expect(text.statusCode).toBe(403);
    expect(text.json()).toEqual(FORBIDDEN);
    const batch = await call('POST', '/ingest/batch', { items: [{ content: 'one' }] });
    expect(batch.statusCode).toBe(200);
    expect(batch.json()).toMatchObject({ succeeded: 0, failed: 1, results: [{ index: 0, error: 'forbidden' }] });
    expect((await call('PATCH', `/content/${id}`, { metadata: { k: 'v' } })).statusCode).toBe(403);
    expect((await call('DELETE', `/content/${id}`)).statusCode).toBe(403);
    expect((await call('POST', '/generate-upload-url', { filename: 'b.txt', contentType: 'text/plain' })).statusCode).toBe(200);
  });

  it("another tenant's policies do not apply", async () => {
    const other = await keyFor(t, 'cedar-content-free', ['ingest']);
    const id = await ingest('Nothing forbidden here.', other);
    expect((await call('GET', `/content/${id}`, undefined, other)).statusCode).toBe(200);
    expect((await call('DELETE', `/content/${id}`, undefined, other)).statusCode).toBe(204);
  });
});
