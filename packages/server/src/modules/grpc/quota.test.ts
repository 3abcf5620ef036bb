import { Code, ConnectError } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { rpc } from '@loam/api/grpc';
import { createDatasetServiceClient } from '@loam/sdk/grpc';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';

const utf8 = new TextEncoder();
const QUOTA = 1200;
/** Records `from`… with a note long enough that 300 of them are a large REST body (parsed on the worker thread). */
const people = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ n: from + i, note: 'x'.repeat(250) }));

describeEachDialect('the tenant records quota on both APIs', (dialect) => {
  let t: TestLoam;
  const call = apiCaller(() => t);
  let tenantAdmin: Record<string, string>;
  let vault: ReturnType<typeof createDatasetServiceClient>;
  let datasetId: string;

  beforeAll(async () => {
    t = await createTestLoam({ dialect });
    const tenant = await call('POST', '/api/v1/admin/tenants', {
      id: 'quota',
      name: 'Quota',
      tier: 'enterprise',
      quotas: { records: QUOTA },
    });
    expect(tenant.status, tenant.body).toBe(201);
    tenantAdmin = await keyHeaders(t, 'quota', { roles: ['admin'], scopes: ['*'] });
    const address = await t.loam.services.grpc.server.listen(0, '127.0.0.1');
    vault = createDatasetServiceClient({
      apiKey: tenantAdmin['x-api-key'],
      transport: createGrpcTransport({ baseUrl: `http://127.0.0.1:${address.port}` }),
    });
    const ds = await call('POST', '/api/v1/datasets', { name: 'people' }, tenantAdmin);
    expect(ds.status, ds.body).toBe(201);
    datasetId = ds.json.data.id;
  });
  afterAll(() => t.close());

  const count = async () => (await call('GET', `/api/v1/datasets/${datasetId}`, undefined, tenantAdmin)).json.data.record_count;
  const rest = (records: unknown[]) =>
    call(
      'POST',
      `/api/v1/datasets/${datasetId}/records`,
      records.map((data) => ({ data })),
      tenantAdmin,
    );
  /** BulkInsertRecords of `messages`, each a list of records; the error it fails with (undefined: it succeeded). */
  const grpcInsert = (messages: unknown[][]) =>
    vault
      .bulkInsertRecords(
        (async function* () {
          for (const records of messages) yield { datasetId, records: records.map((d) => ({ data: utf8.encode(JSON.stringify(d)) })) };
        })(),
      )
      .then(
        () => undefined,
        (e) => ConnectError.from(e),
      );

  it('a gRPC stream that would pass the quota is RESOURCE_EXHAUSTED, whichever part crosses it, and stores none of its records', async () => {
    // 1,500 records in parts of 500: the third crosses the quota after two were stored in the transaction.
    const crossing = await grpcInsert([people(1000), people(500, 1000)]);
    expect(crossing?.code).toBe(Code.ResourceExhausted);
    expect(crossing?.findDetails(rpc.ErrorInfoSchema)[0]?.reason).toBe('quota_exceeded');
    expect(await count()).toBe(0);
    expect(await grpcInsert([people(600), people(400, 600)])).toBeUndefined();
    expect(await count()).toBe(1000);
  });

  it('REST refuses what gRPC refuses, with the same message: a small body, and a large one parsed on the worker thread', async () => {
    const grpcRefusal = await grpcInsert([people(150, 2000), people(150, 2150)]);
    expect(grpcRefusal?.code).toBe(Code.ResourceExhausted);
    const small = await rest(people(201, 3000));
    expect(small.status).toBe(403);
    expect(small.json.code ?? small.json.type).toMatch(/quota_exceeded/);
    // The large body's size is known only once parsed: it used to pass a check of one record.
    const large = await rest(people(300, 4000));
    expect(large.status, large.body).toBe(403);
    expect(large.json.detail).toBe(grpcRefusal?.rawMessage);
    expect(await count()).toBe(1000);
  });

  it('a tenant at its quota gets RESOURCE_EXHAUSTED before its stream is read, as REST gives 403', async () => {
    expect((await rest(people(200, 5000))).status).toBe(201);
    expect(await count()).toBe(QUOTA);
    const refused = await grpcInsert([people(1, 6000)]);
    expect(refused?.code).toBe(Code.ResourceExhausted);
    const restRefused = await rest(people(1, 6000));
    expect(restRefused.status).toBe(403);
    expect(refused?.rawMessage).toBe(restRefused.json.detail);
    expect(await count()).toBe(QUOTA);
  });
});
