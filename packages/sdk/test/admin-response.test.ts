/** `.withResponse()` (headers such as ETag, If-Match round trips) and the `loam.admin` methods, against a real Loam. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam } from '../../server/src/test/harness.js';
import { APIError, APIPromise, Loam, NotFoundError, PermissionDeniedError } from '../src/index.js';

describe('SDK: withResponse and admin', () => {
  let t: TestLoam;
  let loam: Loam;
  beforeAll(async () => {
    t = await createTestLoam({ config: { rateLimitMultiplier: 1000, jwtSigningAlg: 'EdDSA' } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    loam = new Loam({ baseURL: `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`, apiKey: t.adminKey });
  });
  afterAll(() => t.close());

  it('withResponse gives the data and the response; its ETag makes an If-Match round trip', async () => {
    const ds = await loam.datasets.create({ name: 'etag-demo' });
    const call = loam.datasets.get(ds.id);
    expect(call).toBeInstanceOf(APIPromise);
    expect(call).toBeInstanceOf(Promise);
    const { data, response } = await call.withResponse();
    expect(data.id).toBe(ds.id);
    expect(response.status).toBe(200);
    const etag = response.headers.get('etag');
    expect(etag).toMatch(/^"\d+"$/);
    expect(await call).toEqual(data); // awaiting the same call again sends nothing new and gives the same data

    const updated = await loam.datasets.update(ds.id, { description: 'first' }, { ifMatch: etag ?? undefined }).withResponse();
    expect(updated.data.description).toBe('first');
    expect(updated.response.headers.get('etag')).not.toBe(etag);
    // The old ETag no longer matches: 412, and nothing changes.
    await expect(loam.datasets.update(ds.id, { description: 'second' }, { ifMatch: etag ?? undefined })).rejects.toMatchObject({
      status: 412,
    });
    expect((await loam.datasets.get(ds.id)).description).toBe('first');
  });

  it('withResponse rejects with the typed error; catch and finally work as on any promise', async () => {
    await expect(loam.datasets.get('ds_missing').withResponse()).rejects.toBeInstanceOf(NotFoundError);
    let settled = false;
    const caught = await loam.datasets
      .get('ds_missing')
      .catch((err: unknown) => err)
      .finally(() => {
        settled = true;
      });
    expect(caught).toBeInstanceOf(APIError);
    expect(settled).toBe(true);
    expect((await loam.whoami().asResponse()).headers.get('content-type')).toMatch(/json/);
  });

  it('admin: users, signing keys, mailbox, health and master-key rotation', async () => {
    const email = 'admin-sdk@example.com';
    await loam.auth.signup({ email, password: 'correct horse battery staple' });
    const [mail] = await loam.admin.mailbox.list({ to: email, limit: 1 });
    expect(mail.to).toBe(email);

    const users = await loam.admin.users.list().toArray();
    const user = users.find((u) => u.email === email);
    expect(user?.status).toBe('unconfirmed');
    const got = await loam.admin.users.get(user!.id);
    expect(got.email).toBe(email);
    const changed = await loam.admin.users.update(got.id, { roles: ['analyst'], status: 'disabled' });
    expect(changed).toMatchObject({ roles: ['analyst'], status: 'disabled' });
    await expect(loam.admin.users.get('usr_missing')).rejects.toBeInstanceOf(NotFoundError);

    const before = await loam.admin.signingKeys.list();
    const after = await loam.admin.signingKeys.rotate();
    const active = after.filter((k) => !k.retired_at);
    expect(active).toHaveLength(1);
    expect(before.map((k) => k.kid)).not.toContain(active[0].kid);

    expect((await loam.admin.health()).components.map((c) => c.name)).toContain('database');
    const rotation = await loam.admin.rotateMasterKey();
    expect(typeof rotation.rewrapped).toBe('number');

    // A key without the admin scope is refused.
    const plain = await loam.apiKeys.create({ name: 'no-admin', scopes: ['datasets:read'] });
    const limited = loam.withOptions({ apiKey: plain.key });
    await expect(limited.admin.signingKeys.list()).rejects.toBeInstanceOf(PermissionDeniedError);
  });
});
