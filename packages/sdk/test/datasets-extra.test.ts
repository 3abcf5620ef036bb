/** The SDK methods for dataset indexes, anonymization, aggregates, whoami and the callback secret, against a real Loam. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam } from '../../server/src/test/harness.js';
import { Loam } from '../src/index.js';

describe('SDK: indexes, anonymize, aggregate, whoami, callback secret', () => {
  let t: TestLoam;
  let loam: Loam;
  beforeAll(async () => {
    t = await createTestLoam({ config: { rateLimitMultiplier: 1000 } });
    t.loam.startBackground({ workers: 1, relay: false });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    loam = new Loam({ baseURL: `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`, apiKey: t.adminKey });
  });
  afterAll(() => t.close());

  it('answers each call as the server does', async () => {
    expect(await loam.whoami()).toMatchObject({ tenant_id: 'default', kind: 'api_key' });
    expect((await loam.content.callbackSecret()).secret.length).toBeGreaterThan(16);
    const ds = await loam.datasets.create({
      name: 'people',
      schema: {
        fields: [
          { name: 'email', type: 'string', required: true, pii: 'email' },
          { name: 'age', type: 'integer', required: false },
        ],
      },
    });
    await loam.records.insertMany(
      ds.id,
      Array.from({ length: 20 }, (_, i) => ({ data: { email: `p${i}@example.com`, age: 20 + i } })),
    );
    const index = await loam.datasets.createIndex(ds.id, 'age');
    expect((await loam.datasets.listIndexes(ds.id)).map((x) => x.field)).toEqual(['age']);
    await loam.datasets.deleteIndex(ds.id, index.id);
    expect(await loam.datasets.listIndexes(ds.id)).toEqual([]);
    const count = await loam.datasets.aggregate(ds.id, { query: { type: 'count', epsilon: 1 } });
    expect(typeof count.value).toBe('number');
    const job = await loam.datasets.anonymize(ds.id, { policy: { fields: { email: { type: 'mask' } } }, name: 'people (masked)' });
    const done = await loam.jobs.wait(job.id, { timeoutMs: 30_000 });
    expect(done.status).toBe('succeeded');
  });
});
