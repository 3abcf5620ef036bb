import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';

/** The Idempotency-Key convention holds for every POST under /api/v1, not only one module's. */
describeEachDialect('Idempotency-Key on /api/v1 POSTs', (dialect) => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ dialect });
  });
  afterAll(() => t.close());

  const create = (name: string, key: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: { ...t.admin, 'idempotency-key': key },
      payload: { name, scopes: ['storage'] },
    });

  it('a retry with the same key and body replays the first answer instead of creating twice', async () => {
    const first = await create('ci', 'retry-1');
    expect(first.statusCode).toBe(201);
    const second = await create('ci', 'retry-1');
    expect(second.statusCode).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.json().data.id).toBe(first.json().data.id);
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: t.admin });
    expect(list.json().data.filter((k: { name: string }) => k.name === 'ci')).toHaveLength(1);
  });

  it('the same key with another body is refused with 422 idempotency_key_reused', async () => {
    await create('a', 'reuse-1');
    const other = await create('b', 'reuse-1');
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe('idempotency_key_reused');
  });
});

describeEachDialect('the /api/v1 request envelope', (dialect) => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ dialect });
  });
  afterAll(() => t.close());

  it('accepts {request_id, data, options} as well as the bare payload, with options.idempotency_key', async () => {
    const send = () =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/api-keys',
        headers: t.admin,
        payload: { request_id: 'req_client_1', data: { name: 'enveloped', scopes: ['ingest'] }, options: { idempotency_key: 'env-1' } },
      });
    const first = await send();
    expect(first.statusCode).toBe(201);
    expect(first.json().data).toMatchObject({ name: 'enveloped', scopes: ['ingest'] });
    const retry = await send();
    expect(retry.json().data.id).toBe(first.json().data.id);
  });
});

describeEachDialect('ETag on /api/v1 GETs', (dialect) => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ dialect });
  });
  afterAll(() => t.close());

  it('carries an ETag over the data, answers If-None-Match with 304, and changes when the data does', async () => {
    // The first use of the admin key records its last_used_at (shown in the list): settle that first.
    await t.app.inject({ method: 'GET', url: '/api/v1/whoami', headers: t.admin });
    await new Promise((r) => setTimeout(r, 50));
    const first = await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: t.admin });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^W\/"[\w-]+"$/);
    const same = await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: { ...t.admin, 'if-none-match': etag } });
    expect(same.statusCode).toBe(304);
    expect(same.body).toBe('');
    await t.app.inject({ method: 'POST', url: '/api/v1/api-keys', headers: t.admin, payload: { name: 'x', scopes: [] } });
    const changed = await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: { ...t.admin, 'if-none-match': etag } });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
  });
});
