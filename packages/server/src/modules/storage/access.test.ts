import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';
import { PERMIT_ALL, addPolicy, keyFor, pathOf } from '../content/test/helpers.js';

describeEachDialect('storage: Cedar policies on files (Loam::File)', (dialect) => {
  let t: TestLoam;

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitMultiplier: 100 } });
  });
  afterAll(() => t.close());

  const upload = (headers: Record<string, string>) =>
    t.app.inject({ method: 'POST', url: '/generate-upload-url', headers, payload: { filename: 'a.txt', contentType: 'text/plain' } });
  const download = (headers: Record<string, string>, s3Key: string) =>
    t.app.inject({ method: 'POST', url: '/generate-download-url', headers, payload: { s3Key } });
  const stored = async (headers: Record<string, string>): Promise<string> => {
    const up = (await upload(headers)).json();
    const put = await t.app.inject({
      method: 'PUT',
      url: pathOf(up.uploadUrl),
      payload: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(put.statusCode).toBe(200);
    return up.s3Key;
  };

  it('a forbid on reading files makes /generate-download-url answer 403 though the scopes allow it', async () => {
    const user = await keyFor(t, 'cedar-files', ['storage:read', 'storage:write']);
    const admin = await keyHeaders(t, 'cedar-files', { roles: ['admin'] });
    const key = await stored(user);
    expect((await download(user, key)).statusCode).toBe(200);

    await addPolicy(t, admin, PERMIT_ALL);
    await addPolicy(t, admin, 'forbid(principal, action == Loam::Action::"read", resource is Loam::File);');
    const denied = await download(user, key);
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toEqual({
      error: 'forbidden',
      error_description: expect.stringMatching(/^Access denied: forbidden by policy pol_/),
      request_id: expect.any(String),
    });
    // The permit still applies to writing files.
    expect((await upload(user)).statusCode).toBe(200);

    await addPolicy(t, admin, 'forbid(principal, action == Loam::Action::"write", resource is Loam::File);');
    const refused = await upload(user);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toBe('forbidden');
  });

  it("another tenant's policies do not apply", async () => {
    const other = await keyFor(t, 'cedar-files-free', ['storage']);
    const key = await stored(other);
    expect((await download(other, key)).statusCode).toBe(200);
  });
});
