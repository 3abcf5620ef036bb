import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';

type Json = Record<string, any>;

describeEachDialect('datasets: draft versions and POST …/versions/{vid}/finalize', (dialect) => {
  let t: TestLoam;
  const call = apiCaller(() => t);

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
  });
  afterAll(() => t.close());

  const insert = async (ds: string, ids: string[]) => {
    const r = await call(
      'POST',
      `/api/v1/datasets/${ds}/records`,
      ids.map((id) => ({ id, data: { n: id.length } })),
    );
    expect(r.status, r.body).toBe(201);
  };
  const recordIds = async (ds: string, version: string) =>
    (await call('GET', `/api/v1/datasets/${ds}/records?version=${version}`)).json.data.map((r: Json) => r.id).sort();

  it('creates a draft version, takes records into it, and finalizes it', async () => {
    const ds = (await call('POST', '/api/v1/datasets', { name: 'drafts', schema: { fields: [{ name: 'n', type: 'integer' }] } })).json.data
      .id;
    await insert(ds, ['a']);
    const created = await call('POST', `/api/v1/datasets/${ds}/versions`, { name: 'december', draft: true });
    expect(created.status, created.body).toBe(201);
    const draft = created.json.data;
    expect(draft).toMatchObject({ status: 'draft', number: 1, name: 'december', record_count: 0, checksum: '' });
    await insert(ds, ['b', 'c']);
    expect(await recordIds(ds, draft.id)).toEqual(['a', 'b', 'c']);
    expect((await call('GET', `/api/v1/datasets/${ds}`)).json.data.latest_version_id).toBeNull(); // a draft is not the latest version

    // While the draft is open, versions are made by finalizing it; a draft cannot be deprecated.
    const second = await call('POST', `/api/v1/datasets/${ds}/versions`, {});
    expect(second.status).toBe(409);
    expect(second.headers['content-type']).toMatch(/problem\+json/);
    expect(second.json.detail).toContain(draft.id);
    expect((await call('POST', `/api/v1/datasets/${ds}/versions/${draft.id}/deprecate`, {})).status).toBe(409);
    const other = await keyHeaders(t, 'drafts-other', { roles: ['admin'] });
    expect((await call('POST', `/api/v1/datasets/${ds}/versions/${draft.id}/finalize`, {}, other)).status).toBe(404);

    const fin = await call('POST', `/api/v1/datasets/${ds}/versions/${draft.id}/finalize`, { description: 'closed' });
    expect(fin.status, fin.body).toBe(200);
    expect(fin.json.data).toMatchObject({ id: draft.id, status: 'finalized', number: 1, record_count: 3, description: 'closed' });
    expect(fin.json.data.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect((await call('POST', `/api/v1/datasets/${ds}/versions/${draft.id}/finalize`, {})).status).toBe(409);

    // Finalized means fixed: later writes go to the next draft.
    await insert(ds, ['d']);
    expect(await recordIds(ds, draft.id)).toEqual(['a', 'b', 'c']);
    // The one-call create-and-finalize still works, and equal content gives an equal checksum.
    expect((await call('DELETE', `/api/v1/datasets/${ds}/records/d`)).status).toBe(204);
    const once = await call('POST', `/api/v1/datasets/${ds}/versions`, { name: 'again' });
    expect(once.status, once.body).toBe(201);
    expect(once.json.data).toMatchObject({ status: 'finalized', number: 2, record_count: 3, checksum: fin.json.data.checksum });

    const catalog = (await call('GET', '/api/v1/catalog/datasets?query=drafts')).json.data[0];
    expect(catalog.versions.map((v: Json) => v.number)).toEqual([1, 2]);
  });

  it('deletes an open draft version without touching the records written to it', async () => {
    const ds = (await call('POST', '/api/v1/datasets', { name: 'dropped-draft', schema: { fields: [{ name: 'n', type: 'integer' }] } }))
      .json.data.id;
    const draft = (await call('POST', `/api/v1/datasets/${ds}/versions`, { draft: true })).json.data;
    await insert(ds, ['x', 'y']);
    expect((await call('DELETE', `/api/v1/datasets/${ds}/versions/${draft.id}`)).status).toBe(204);
    expect(await recordIds(ds, 'draft')).toEqual(['x', 'y']);
    const v = await call('POST', `/api/v1/datasets/${ds}/versions`, {});
    expect(v.json.data).toMatchObject({ status: 'finalized', number: 1, record_count: 2 });
    expect((await call('POST', `/api/v1/datasets/${ds}/versions/${v.json.data.id}/finalize`, {})).status).toBe(409);
    expect((await call('POST', `/api/v1/datasets/${ds}/versions/ver_missing/finalize`, {})).status).toBe(404);
  });
});
