import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';

const QUOTA = 10;

describeEachDialect('the tenant records quota: imports and concurrent inserts', (dialect) => {
  let t: TestLoam;
  const call = apiCaller(() => t);
  let admin: Record<string, string>;

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false, datasetImportChunkSize: 4 } });
    const tenant = await call('POST', '/api/v1/admin/tenants', { id: 'small', name: 'Small', quotas: { records: QUOTA } });
    expect(tenant.status, tenant.body).toBe(201);
    admin = await keyHeaders(t, 'small', { roles: ['admin'], scopes: ['*'] });
  });
  afterAll(() => t.close());

  const dataset = async (name: string) => {
    const ds = await call('POST', '/api/v1/datasets', { name }, admin);
    expect(ds.status, ds.body).toBe(201);
    return ds.json.data.id as string;
  };
  const count = async (id: string) => (await call('GET', `/api/v1/datasets/${id}`, undefined, admin)).json.data.record_count;
  const remove = (id: string) => call('DELETE', `/api/v1/datasets/${id}`, undefined, admin);

  it('an import stops at the quota: the chunks before it stay, the import fails saying why, and the job is not retried', async () => {
    const ds = await dataset('imported');
    const lines = Array.from({ length: 14 }, (_, i) => JSON.stringify({ id: `r${i + 1}`, n: i + 1 })).join('\n');
    const r = await call('POST', `/api/v1/datasets/${ds}/records/import`, lines, { ...admin, 'content-type': 'application/x-ndjson' });
    expect(r.status, r.body).toBe(202);
    await t.loam.platform.jobs.drain();
    const imp = (await call('GET', r.json.links.import, undefined, admin)).json.data;
    // Chunks of 4: 4 + 4 fit the quota of 10, the third (lines 9-12) would pass it.
    expect(imp).toMatchObject({ status: 'failed', processed: 8 });
    expect(imp.error).toMatch(/records quota \(10\) would be exceeded.*lines after 8 were not imported/);
    expect(await count(ds)).toBe(8);
    const job = (await call('GET', `/api/v1/jobs/${r.json.data.id}`, undefined, admin)).json.data;
    expect(job.attempts).toBe(1);
    expect((await remove(ds)).status).toBe(204);
  });

  it('concurrent inserts into different datasets cannot pass the quota together: one is stored, the others refused', async () => {
    // Inserts into one dataset wait for each other on its row; into several, only the quota check orders them.
    const sets = await Promise.all(['a', 'b', 'c', 'd'].map((n) => dataset(`raced-${n}`)));
    const batch = Array.from({ length: 6 }, (_, i) => ({ data: { n: i } }));
    const answers = await Promise.all(sets.map((ds) => call('POST', `/api/v1/datasets/${ds}/records`, batch, admin)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses, answers.map((a) => a.body).join('\n')).toEqual([201, 403, 403, 403]);
    expect((await Promise.all(sets.map(count))).reduce((a, b) => a + b)).toBe(6);
    for (const ds of sets) expect((await remove(ds)).status).toBe(204);
  });
});
