import type { AddressInfo } from 'node:net';
import { create, fromBinary } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import { DatasetService, ProcessOptions_Anonymize, ProcessRecordsRequestSchema, rpc } from '@loam/api/grpc';
import { createDatasetServiceClient } from '@loam/sdk/grpc';
import { GrpcReflection } from 'grpc-js-reflection-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';
import { collect, keyMetadata, stockClient, unary } from './testing.js';

const utf8 = new TextEncoder();
const json = (v: unknown) => utf8.encode(JSON.stringify(v));
/** The error a call fails with (the test fails if it succeeds). */
const failure = (p: Promise<unknown>): Promise<grpc.ServiceError> =>
  p.then(
    () => {
      throw new Error('the call succeeded');
    },
    (e) => e as grpc.ServiceError,
  );
const parse = (b: Uint8Array) => JSON.parse(Buffer.from(b).toString('utf8'));

describeEachDialect('gRPC DatasetService', (dialect) => {
  let t: TestLoam;
  let grpcAddress: string;
  let httpUrl: string;
  let datasetId: string;
  let foreignKey: string;
  let readOnlyKey: string;
  let client: any;
  const admin = () => keyMetadata(t.adminKey);

  const rest = async (method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const res = await t.app.inject({ method, url, headers: t.admin, payload: payload as object });
    return res.json().data;
  };
  const recordCount = async () => (await rest('GET', `/api/v1/datasets/${datasetId}`)).record_count as number;

  beforeAll(async () => {
    t = await createTestLoam({ dialect });
    const address: AddressInfo = await t.loam.services.grpc.server.listen(0, '127.0.0.1');
    grpcAddress = `127.0.0.1:${address.port}`;
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    httpUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const ds = await rest('POST', '/api/v1/datasets', {
      name: 'people',
      schema: {
        fields: [
          { name: 'email', type: 'string', required: true },
          { name: 'age', type: 'integer' },
        ],
      },
    });
    datasetId = ds.id;
    foreignKey = (await keyHeaders(t, 'grpc-foreign', { roles: ['admin'] }))['x-api-key'];
    readOnlyKey = (await keyHeaders(t, 'default', { scopes: ['datasets:read'] }))['x-api-key'];
    // gzip on every message the stock client sends.
    client = stockClient('llm_data_vault/v1/dataset_service.proto', 'llm_data_vault.v1.DatasetService', grpcAddress, {
      'grpc.default_compression_algorithm': 2,
    });
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
  });

  /** BulkInsertRecords with the stock client: `batches` of records, then the end of the stream. */
  function bulkInsert(batches: unknown[][], metadata = admin(), id = datasetId, options: grpc.CallOptions = {}) {
    return new Promise<{ inserted: string; ids: string[] }>((resolve, reject) => {
      const call = client.bulkInsertRecords(metadata, options, (err: Error | null, res: { inserted: string; ids: string[] }) =>
        err ? reject(err) : resolve(res),
      );
      for (const [i, records] of batches.entries())
        call.write({ datasetId: i === 0 ? id : '', records: records.map((d) => ({ data: json(d) })) });
      call.end();
    });
  }

  it('all four modes with the stock client: unary, client stream, server stream, bidirectional', async () => {
    const ds = await unary<{ id: string; name: string; schema: { fields: { name: string }[] } }>(
      client,
      'getDataset',
      { datasetId },
      admin(),
    );
    expect(ds).toMatchObject({ id: datasetId, name: 'people' });
    expect(ds.schema.fields.map((f) => f.name)).toEqual(['email', 'age']);

    const people = Array.from({ length: 2500 }, (_, i) => ({ email: `p${i}@example.com`, age: i % 90 }));
    const result = await bulkInsert([people.slice(0, 1200), people.slice(1200, 1201), people.slice(1201)]);
    expect(Number(result.inserted)).toBe(2500);
    expect(result.ids).toHaveLength(2500);
    expect(await recordCount()).toBe(2500);

    const streamed = await collect<{ id: string; data: Buffer; revision: string }>(client.streamRecords({ datasetId }, admin()));
    expect(streamed).toHaveLength(2500);
    expect(streamed.map((r) => r.id)).toEqual([...result.ids].sort());
    // The same answer as the REST query.
    const page = await rest('GET', `/api/v1/datasets/${datasetId}/records?limit=5`);
    expect(streamed.slice(0, 5).map((r) => ({ id: r.id, data: parse(r.data), revision: Number(r.revision) }))).toEqual(
      page.map((r: { id: string; data: unknown; revision: number }) => ({ id: r.id, data: r.data, revision: r.revision })),
    );
    const query = await unary<{ records: { id: string }[]; nextCursor: string }>(client, 'queryRecords', { datasetId, limit: 5 }, admin());
    expect(query.records.map((r) => r.id)).toEqual(page.map((r: { id: string }) => r.id));
    expect(query.nextCursor).not.toBe('');
    const one = await unary<{ id: string; data: Buffer }>(client, 'getRecord', { datasetId, recordId: page[0].id }, admin());
    expect(parse(one.data)).toEqual(page[0].data);
    expect((await failure(unary(client, 'queryRecords', { datasetId, limit: 5000 }, admin()))).code).toBe(grpc.status.INVALID_ARGUMENT);
    const filtered = await collect(client.streamRecords({ datasetId, filter: JSON.stringify({ age: { $gte: 89 } }) }, admin()));
    expect(filtered).toHaveLength(people.filter((p) => p.age >= 89).length);

    const call = client.processRecords(admin());
    const answers = collect<{
      index: string;
      valid: boolean;
      record: { data: Buffer; attributes: Record<string, string> };
      problems: unknown[];
    }>(call);
    call.write({
      datasetId,
      options: { validate: true, detectPii: true, anonymize: 'ANONYMIZE_OPERATORS', operators: { EMAIL_ADDRESS: { type: 'redact' } } },
      records: [{ data: json({ email: 'ann@example.com', age: 31 }) }],
    });
    call.write({ records: [{ data: json({ email: 'bob@example.com', age: 'old' }) }] });
    call.end();
    const out = await answers;
    expect(out.map((a) => Number(a.index))).toEqual([0, 1]);
    expect(out[0].valid).toBe(true);
    expect(out[0].record.attributes['pii.EMAIL_ADDRESS']).toBe('1');
    expect(JSON.stringify(parse(out[0].record.data))).not.toContain('ann@example.com');
    expect(out[1].valid).toBe(false);
    expect(out[1].problems).toEqual([expect.objectContaining({ field: 'age' })]);
    expect(await recordCount()).toBe(2500); // processing stores nothing
  });

  it('a bulk insert whose last record is invalid inserts nothing (INVALID_ARGUMENT naming it)', async () => {
    const before = await recordCount();
    const good = Array.from({ length: 1500 }, (_, i) => ({ email: `q${i}@example.com` }));
    const err = await bulkInsert([good, [{ email: 'last@example.com', age: 'not a number' }]]).catch((e) => e);
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    const details = err.metadata.get('grpc-status-details-bin')[0] as Buffer;
    expect(details).toBeDefined();
    expect(await recordCount()).toBe(before);
    const dup = await bulkInsert([[{ email: 'a@example.com' }]]).then((r) => r.ids[0]);
    const err2 = await new Promise<grpc.ServiceError>((resolve) => {
      const call = client.bulkInsertRecords(admin(), (e: grpc.ServiceError) => resolve(e));
      call.write({
        datasetId,
        records: [
          { id: 'fresh-1', data: json({ email: 'x@example.com' }) },
          { id: dup, data: json({ email: 'y@example.com' }) },
        ],
      });
      call.end();
    });
    expect(err2.code).toBe(grpc.status.ALREADY_EXISTS);
    expect(await recordCount()).toBe(before + 1);
  });

  it('BulkInsertRecords checks records as the REST bulk insert does, across the whole stream: each problem named, nothing inserted', async () => {
    const vault = createDatasetServiceClient({ apiKey: t.adminKey, transport: createGrpcTransport({ baseUrl: `http://${grpcAddress}` }) });
    const before = await recordCount();
    const upload = (second: { id?: string; data: Uint8Array }[]) =>
      vault
        .bulkInsertRecords(
          (async function* () {
            // A first part (1,000 records) that is fine, and is inserted before the second arrives.
            yield {
              datasetId,
              records: Array.from({ length: 1000 }, (_, i) => ({ id: `s-${i}`, data: json({ email: `s${i}@example.com` }) })),
            };
            yield { records: second };
          })(),
        )
        .then(
          () => undefined,
          (e) => ConnectError.from(e),
        );
    const err = await upload([
      { id: 's-5', data: json({ email: 'again@example.com' }) },
      { data: utf8.encode('{"email": "half') },
      { id: 'not an id!', data: json({ email: 'x@example.com' }) },
      { data: utf8.encode('{"__proto__": {"admin": true}, "email": "p@example.com"}') },
    ]);
    expect(err?.code).toBe(Code.InvalidArgument);
    const violations = err?.findDetails(rpc.BadRequestSchema)[0]?.fieldViolations ?? [];
    expect(violations.map((v) => [v.field, v.reason])).toEqual([
      ['[1000].id', 'duplicate'],
      ['[1001].data', 'invalid_json'],
      ['[1002].id', 'invalid_format'],
      ['[1003].data', 'invalid_json'],
    ]);
    expect(await recordCount()).toBe(before);
    // The same stream without the bad records lands whole.
    expect(
      Number(
        (
          await vault.bulkInsertRecords(
            (async function* () {
              yield { datasetId, records: [{ id: 's-ok', data: json({ email: 'ok@example.com' }) }] };
            })(),
          )
        ).inserted,
      ),
    ).toBe(1);
    expect(await recordCount()).toBe(before + 1);
  });

  it('authentication and access: no or bad credential UNAUTHENTICATED, missing scope PERMISSION_DENIED, a foreign tenant NOT_FOUND', async () => {
    const none = await failure(unary(client, 'getDataset', { datasetId }, new grpc.Metadata()));
    expect(none.code).toBe(grpc.status.UNAUTHENTICATED);
    const bad = await failure(unary(client, 'getDataset', { datasetId }, keyMetadata('loam_sk_not_a_real_key_0123456789abcdefghij')));
    expect(bad.code).toBe(grpc.status.UNAUTHENTICATED);
    const bearer = new grpc.Metadata();
    bearer.set('authorization', `Bearer ${t.adminKey}`);
    expect(await unary(client, 'getDataset', { datasetId }, bearer)).toMatchObject({ id: datasetId });

    const denied = await bulkInsert([[{ email: 'ro@example.com' }]], keyMetadata(readOnlyKey)).catch((e) => e);
    expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(await unary(client, 'getDataset', { datasetId }, keyMetadata(readOnlyKey))).toMatchObject({ id: datasetId });

    const foreign = keyMetadata(foreignKey);
    const [first] = await collect<{ id: string }>(client.streamRecords({ datasetId }, admin()));
    const calls = [
      unary(client, 'getDataset', { datasetId }, foreign),
      unary(client, 'getRecord', { datasetId, recordId: first.id }, foreign),
      unary(client, 'queryRecords', { datasetId }, foreign),
      collect(client.streamRecords({ datasetId }, foreign)),
      bulkInsert([[{ email: 'intruder@example.com' }]], foreign),
    ];
    for (const c of await Promise.all(calls.map(failure))) expect(c.code).toBe(grpc.status.NOT_FOUND);
    const proc = client.processRecords(foreign);
    const procOut = collect(proc);
    proc.write({ datasetId, records: [{ data: json({ email: 'x@example.com' }) }] });
    proc.end();
    expect((await procOut.catch((e) => e)).code).toBe(grpc.status.NOT_FOUND);
  });

  it('a deadline that passes mid-upload cancels the insert; one that passes mid-download ends the stream', async () => {
    const before = await recordCount();
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      const call = client.bulkInsertRecords(admin(), { deadline: Date.now() + 300 }, (e: grpc.ServiceError) => resolve(e));
      call.write({ datasetId, records: Array.from({ length: 1500 }, (_, i) => ({ data: json({ email: `d${i}@example.com` }) })) });
      // …and never ends the stream.
    });
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(await recordCount()).toBe(before);

    const stream = client.streamRecords({ datasetId }, admin(), { deadline: Date.now() + 300 });
    let received = 0;
    const ended = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    stream.on('data', () => {
      if (++received === 1) stream.pause(); // a reader that stops reading
    });
    expect((await ended).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(received).toBeLessThan(before);
  });

  it('a client that cancels a server stream ends it (CANCELLED), and the server goes on serving', async () => {
    const stream = client.streamRecords({ datasetId }, admin());
    let received = 0;
    const ended = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    stream.on('data', () => {
      if (++received === 10) stream.cancel();
    });
    expect((await ended).code).toBe(grpc.status.CANCELLED);
    expect(received).toBeLessThan(await recordCount());
    expect(await unary(client, 'getDataset', { datasetId }, admin())).toMatchObject({ id: datasetId });
  });

  it('the Connect client over gRPC (HTTP/2 port), gRPC-Web and Connect (main port): all four modes', async () => {
    const headers = { 'x-api-key': t.adminKey };
    const transports = [
      createGrpcTransport({ baseUrl: `http://${grpcAddress}` }),
      createGrpcWebTransport({ baseUrl: httpUrl, httpVersion: '1.1' }),
      createConnectTransport({ baseUrl: httpUrl, httpVersion: '1.1', useBinaryFormat: false }),
    ];
    for (const transport of transports) {
      const c = createClient(DatasetService, transport);
      expect((await c.getDataset({ datasetId }, { headers })).name).toBe('people');
      const before = await recordCount();
      const inserted = await c
        .bulkInsertRecords(
          (async function* () {
            yield { datasetId, records: [{ data: json({ email: 'c1@example.com' }) }, { data: json({ email: 'c2@example.com' }) }] };
          })(),
          { headers },
        )
        .catch((e: ConnectError) => e);
      if (inserted instanceof ConnectError) {
        // Client streaming needs HTTP/2: gRPC-Web and Connect over HTTP/1.1 cannot stream requests.
        expect(transport).not.toBe(transports[0]);
      } else {
        expect(inserted.inserted).toBe(2n);
        expect(await recordCount()).toBe(before + 2);
      }
      let n = 0;
      for await (const r of c.streamRecords({ datasetId, filter: JSON.stringify({ email: 'c1@example.com' }) }, { headers })) {
        expect(parse(r.data)).toEqual({ email: 'c1@example.com' });
        n++;
      }
      expect(n).toBeGreaterThan(0);
      if (transport === transports[0]) {
        const answers = [];
        for await (const a of c.processRecords(
          (async function* () {
            yield create(ProcessRecordsRequestSchema, {
              datasetId,
              options: { validate: true, anonymize: ProcessOptions_Anonymize.OPERATORS },
              records: [{ data: json({ email: 'eve@example.com' }) }],
            });
          })(),
          { headers },
        ))
          answers.push(a);
        expect(answers).toHaveLength(1);
        expect(parse(answers[0].record?.data ?? new Uint8Array()).email).not.toBe('eve@example.com');
      }
      const missing = await c.getDataset({ datasetId: 'ds_missing' }, { headers }).catch((e) => ConnectError.from(e));
      expect(missing).toBeInstanceOf(ConnectError);
      expect((missing as ConnectError).code).toBe(Code.NotFound);
      const reason = (missing as ConnectError).findDetails(rpc.ErrorInfoSchema)[0]?.reason;
      expect(reason).toBe('not_found');
    }
  });

  it('@loam/sdk/grpc: the typed client with an API key, over Connect (fetch) and over native gRPC', async () => {
    const overFetch = createDatasetServiceClient({ baseUrl: httpUrl, apiKey: t.adminKey });
    expect((await overFetch.getDataset({ datasetId })).id).toBe(datasetId);
    const grpcWeb = createDatasetServiceClient({ baseUrl: httpUrl, apiKey: t.adminKey, protocol: 'grpc-web' });
    const ids: string[] = [];
    for await (const r of grpcWeb.streamRecords({ datasetId, filter: JSON.stringify({ email: 'c1@example.com' }) })) ids.push(r.id);
    expect(ids.length).toBeGreaterThan(0);
    const native = createDatasetServiceClient({ apiKey: t.adminKey, transport: createGrpcTransport({ baseUrl: `http://${grpcAddress}` }) });
    const res = await native.bulkInsertRecords(
      (async function* () {
        yield { datasetId, records: [{ data: json({ email: 'sdk@example.com' }) }] };
      })(),
    );
    expect(res.inserted).toBe(1n);
    const anonymous = createDatasetServiceClient({ baseUrl: httpUrl });
    expect((await anonymous.getDataset({ datasetId }).catch((e) => e)).code).toBe(Code.Unauthenticated);
  });

  it('reflection lists the services and serves their descriptors; the health service answers SERVING', async () => {
    for (const version of ['v1', 'v1alpha']) {
      const reflection = new GrpcReflection(grpcAddress, grpc.credentials.createInsecure(), {}, version);
      const services = await reflection.listServices();
      expect(services).toEqual(expect.arrayContaining(['llm_data_vault.v1.DatasetService', 'grpc.health.v1.Health']));
      const methods = await reflection.listMethods('llm_data_vault.v1.DatasetService');
      expect(methods.map((m) => m.name)).toEqual(
        expect.arrayContaining(['GetDataset', 'StreamRecords', 'BulkInsertRecords', 'ProcessRecords']),
      );
    }
    const health = stockClient('grpc/health/v1/health.proto', 'grpc.health.v1.Health', grpcAddress);
    expect(await unary(health, 'check', { service: '' }, new grpc.Metadata())).toEqual({ status: 'SERVING' });
    expect(await unary(health, 'check', { service: 'llm_data_vault.v1.DatasetService' }, new grpc.Metadata())).toEqual({
      status: 'SERVING',
    });
    const unknown = await failure(unary(health, 'check', { service: 'nope.Service' }, new grpc.Metadata()));
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    health.close();
  });
});

describe('gRPC rate limits', () => {
  it("a tenant over its tier's limit gets RESOURCE_EXHAUSTED with google.rpc.RetryInfo", async () => {
    const t = await createTestLoam({ config: { rateLimitMultiplier: 0.05 } });
    try {
      const address = await t.loam.services.grpc.server.listen(0, '127.0.0.1');
      const key = (await keyHeaders(t, 'grpc-limited', { roles: ['admin'] }))['x-api-key'];
      const c = createDatasetServiceClient({
        apiKey: key,
        transport: createGrpcTransport({ baseUrl: `http://127.0.0.1:${address.port}` }),
      });
      let err: ConnectError | undefined;
      for (let i = 0; i < 200 && !err; i++)
        err = await c.getDataset({ datasetId: 'ds_none' }).then(
          () => undefined,
          (e) => (ConnectError.from(e).code === Code.NotFound ? undefined : ConnectError.from(e)),
        );
      expect(err?.code).toBe(Code.ResourceExhausted);
      expect(Number(err?.metadata.get('retry-after'))).toBeGreaterThan(0);
      const retry = err?.findDetails(rpc.RetryInfoSchema)[0];
      expect(Number(retry?.retryDelay?.seconds)).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  });
});

describe('gRPC bulk insert limit', () => {
  it('a stream over LOAM_GRPC_MAX_BULK_RECORDS is RESOURCE_EXHAUSTED and inserts nothing', async () => {
    const t = await createTestLoam({ config: { grpcMaxBulkRecords: 1500 } });
    try {
      const address = await t.loam.services.grpc.server.listen(0, '127.0.0.1');
      const vault = createDatasetServiceClient({
        apiKey: t.adminKey,
        transport: createGrpcTransport({ baseUrl: `http://127.0.0.1:${address.port}` }),
      });
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/datasets', headers: t.admin, payload: { name: 'limited' } });
      const datasetId = res.json().data.id as string;
      const records = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({ data: json({ n: from + i }) }));
      const upload = (sizes: number[]) =>
        vault.bulkInsertRecords(
          (async function* () {
            let from = 0;
            for (const n of sizes) {
              yield { datasetId, records: records(n, from) };
              from += n;
            }
          })(),
        );
      const err = await upload([1000, 501]).then(
        () => undefined,
        (e) => ConnectError.from(e),
      );
      expect(err?.code).toBe(Code.ResourceExhausted);
      const count = async () =>
        (await t.app.inject({ method: 'GET', url: `/api/v1/datasets/${datasetId}`, headers: t.admin })).json().data.record_count;
      expect(await count()).toBe(0);
      expect(Number((await upload([1000, 500])).inserted)).toBe(1500);
      expect(await count()).toBe(1500);
    } finally {
      await t.close();
    }
  });
});

describe('gRPC error details', () => {
  it('decodes as google.rpc messages', () => {
    const bytes = new Uint8Array([10, 3, 97, 98, 99]);
    expect(fromBinary(rpc.ErrorInfoSchema, bytes).reason).toBe('abc');
  });
});
