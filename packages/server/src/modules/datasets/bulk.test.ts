import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { BULK_MIN_BYTES, jsonArrayChunks } from './bulk.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies in tests
type Json = any;

const NDJSON = { 'content-type': 'application/x-ndjson' };
const JSON_TYPE = { 'content-type': 'application/json' };
/** Whitespace that takes a body over the size parsed on the worker thread, meaning nothing to JSON. */
const PAD = ' '.repeat(BULK_MIN_BYTES);
const NL_PAD = '\n'.repeat(BULK_MIN_BYTES);

/**
 * Bulk inserts of 64 KiB or more are parsed, validated and prepared on a worker thread while the
 * event loop inserts them (bulk.ts). Each body below is sent twice, once as is (parsed inline) and
 * once padded with whitespace past the threshold (parsed by the worker): the two must answer alike
 * and store alike.
 */
describeEachDialect('datasets bulk insert off the event loop', (dialect) => {
  let t: TestLoam;
  const call = apiCaller(() => t);
  let n = 0;
  const createDataset = async (
    fields: Json[] = [
      { name: 'name', type: 'string', required: true },
      { name: 'age', type: 'integer' },
    ],
  ) => {
    const r = await call('POST', '/api/v1/datasets', { name: `bulk-${n++}`, schema: { fields } });
    expect(r.status).toBe(201);
    return r.json.data.id as string;
  };
  const count = async (ds: string) => (await call('GET', `/api/v1/datasets/${ds}`)).json.data.record_count;

  /** Sends `body` inline to one dataset and padded to another: both answers, after a check that they agree. */
  const both = async (
    body: string,
    headers = JSON_TYPE,
    pad = headers === NDJSON ? NL_PAD : PAD,
    setup?: (ds: string) => Promise<void>,
  ) => {
    const [small, large] = [await createDataset(), await createDataset()];
    if (setup) for (const ds of [small, large]) await setup(ds);
    const inline = await call('POST', `/api/v1/datasets/${small}/records`, body, headers);
    const worker = await call('POST', `/api/v1/datasets/${large}/records`, body + pad, headers);
    expect(worker.status).toBe(inline.status);
    if (inline.status >= 400)
      expect(worker.json).toEqual({
        ...inline.json,
        instance: expect.any(String),
        request_id: expect.any(String),
        timestamp: expect.any(String),
      });
    expect(await count(large)).toBe(await count(small));
    return { inline, worker, small, large };
  };

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
  });
  afterAll(() => t.close());

  it('stores the same records with the same hashes either way, generating ids for records without one', async () => {
    const records = Array.from({ length: 1200 }, (_, i) => ({
      ...(i % 3 ? { id: `r${i}` } : {}),
      data: { age: i, name: `n${i} é ✓`, nested: { z: 1, a: [i, { y: 'x', b: null }] } },
    }));
    const { inline, worker, small, large } = await both(JSON.stringify(records));
    expect((t.loam.services.datasets.records as Json).bulk.worker).toBeDefined(); // the padded body went to the worker
    expect(worker.status).toBe(201);
    expect(worker.json.data.inserted).toBe(1200);
    expect(worker.json.data.ids.slice(0, 3)).toEqual([expect.stringMatching(/^rec_/), 'r1', 'r2']);
    expect(new Set(worker.json.data.ids).size).toBe(1200);
    for (const rid of ['r1', 'r599', 'r1199']) {
      const [a, b] = [
        await call('GET', `/api/v1/datasets/${small}/records/${rid}`),
        await call('GET', `/api/v1/datasets/${large}/records/${rid}`),
      ];
      expect(b.json.data.data).toEqual(a.json.data.data);
      expect(b.headers.etag).toBe(a.headers.etag); // revision and content hash
    }
    const generated = await call('GET', `/api/v1/datasets/${large}/records/${worker.json.data.ids[600]}`);
    expect(generated.json.data.data).toEqual(records[600].data);
    expect(inline.json.data.ids[1]).toBe('r1');
  });

  it('refuses records that break the dataset schema or repeat an id, naming index and field, and stores none', async () => {
    const records: Json[] = Array.from({ length: 900 }, (_, i) => ({ id: `r${i}`, data: { name: `n${i}` } }));
    records[7].data = { age: 'old' };
    records[850].id = 'r3';
    records[851].data.age = 1.5;
    const { worker } = await both(JSON.stringify(records));
    expect(worker.status).toBe(400);
    expect(worker.json.errors.map((e: Json) => e.field)).toEqual(['[7].data.name', '[7].data.age', '[850].id', '[851].data.age']);
  });

  it('applies the body schema as Fastify does: unknown keys, bad ids, ids coerced to strings, non-objects', async () => {
    const rows = (extra: Json) => JSON.stringify([...Array.from({ length: 600 }, (_, i) => ({ data: { name: `n${i}` } })), extra]);
    for (const bad of [{ data: { name: 'x' }, extra: 1 }, { id: 'has space', data: { name: 'x' } }, 5, { id: 'x' }, { data: [] }]) {
      const { worker } = await both(rows(bad));
      expect(worker.status).toBe(400);
      expect(worker.json.errors[0].field).toMatch(/^600/);
    }
    const coerced = await both(rows({ id: 42, data: { name: 'x' } }));
    expect(coerced.worker.status).toBe(201);
    expect(coerced.worker.json.data.ids[600]).toBe('42');
    // Too many and none at all: the array's own limits.
    const many = await both(JSON.stringify(Array.from({ length: 10_001 }, (_, i) => (i === 3 ? { bad: 1 } : { data: { name: 'n' } }))));
    expect(many.worker.json.errors[0]).toMatchObject({ field: '(root)', code: 'out_of_range' });
    expect((await both('[]')).worker.json.errors[0]).toMatchObject({ field: '(root)', code: 'out_of_range' });
  });

  it('refuses data nested more than 100 levels deep with a 400 naming the field, however deep', async () => {
    const nest = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    for (const depth of [99, 100, 5000, 50_000]) {
      const { worker } = await both(`[{"data":{"name":"x","deep":${nest(depth)}}}]`);
      if (depth < 100) expect(worker.status).toBe(201);
      else if (depth < 10_000)
        expect(worker.json.errors).toEqual([expect.objectContaining({ field: '[0].data.deep', code: 'out_of_range' })]);
      else expect(worker.status).toBe(400); // beyond what JSON.parse takes: malformed
    }
  });

  it('reports malformed JSON as the inline parser does, wherever it is, and refuses prototype poisoning', async () => {
    const good = Array.from({ length: 700 }, (_, i) => `{"data":{"name":"n${i}"}}`);
    const cases = [
      `[${good.join(',')},]`,
      `[${good.join(',')},,{"data":{"name":"x"}}]`,
      `[,${good.join(',')}]`,
      `[${good.join(',')}`,
      `[${good.join(',')}] x`,
      `[${good.slice(0, 600).join(',')},{"data":{"name":"x}},${good.slice(600).join(',')}]`,
      `[${good.join(',')},{"data":{"name":"x","__proto__":{"admin":true}}}]`,
      `[${good.join(',')},{"data":{"constructor":{"prototype":{"admin":true}}}}]`,
      `[${good.join(',')},{"data":{"name":"a]\\"}[,"}}]`.replace('}}]', '}}'), // a string full of brackets, then truncated
    ];
    for (const body of cases) {
      const { inline, worker } = await both(body);
      expect(inline.status).toBe(400);
      expect(worker.json.detail).toMatch(/^Malformed request body|^Invalid body/);
    }
    // A string holding brackets, quotes and commas is data, not structure.
    const tricky = await both(`[${good.join(',')},{"data":{"name":"a]\\",[{\\\\"}}]`);
    expect(tricky.worker.status).toBe(201);
    expect(tricky.worker.json.data.inserted).toBe(701);
  });

  it('parses NDJSON the same way: bad lines by number, at most 10,000 lines, blank lines skipped', async () => {
    const lines = Array.from({ length: 800 }, (_, i) => `{"id":"l${i}","data":{"name":"n${i}"}}`);
    const ok = await both(`${lines.join('\n\n')}\n`, NDJSON);
    expect(ok.worker.status).toBe(201);
    expect(ok.worker.json.data.ids).toEqual(lines.map((_, i) => `l${i}`));
    const bad = await both(`${lines.join('\n')}\n{oops\n`, NDJSON);
    expect(bad.worker.json.detail).toContain('line 801');
    const many = await both(Array.from({ length: 10_001 }, () => '{"data":{"name":"n"}}').join('\n'), NDJSON);
    expect(many.worker.status).toBe(413);
    const schema = await both(`${lines.join('\n')}\n{"data":{"age":"x"}}`, NDJSON);
    expect(schema.worker.json.errors.map((e: Json) => e.field)).toEqual(['[800].data.name', '[800].data.age']);
  });

  it('answers 409 naming the ids a dataset already has, after any error later in the body', async () => {
    const take = async (ds: string) => {
      expect(
        (
          await call('POST', `/api/v1/datasets/${ds}/records`, [
            { id: 'r5', data: { name: 'x' } },
            { id: 'r990', data: { name: 'x' } },
          ])
        ).status,
      ).toBe(201);
    };
    const records: Json[] = Array.from({ length: 1000 }, (_, i) => ({ id: `r${i}`, data: { name: `n${i}` } }));
    const taken = await both(JSON.stringify(records), JSON_TYPE, PAD, take);
    expect(taken.worker.status).toBe(409);
    expect(taken.worker.json.errors.map((e: Json) => e.field)).toEqual(['[5].id', '[990].id']);
    records[995].data = {};
    const invalid = await both(JSON.stringify(records), JSON_TYPE, PAD, take);
    expect(invalid.worker.status).toBe(400);
    expect(invalid.worker.json.errors[0].field).toBe('[995].data.name');
  });

  it('honours Idempotency-Key for large bodies (the bytes are the fingerprint)', async () => {
    const ds = await createDataset();
    const body = JSON.stringify(Array.from({ length: 3000 }, (_, i) => ({ data: { name: `n${i}` } })));
    const first = await call('POST', `/api/v1/datasets/${ds}/records`, body, { ...JSON_TYPE, 'idempotency-key': 'big-1' });
    const retry = await call('POST', `/api/v1/datasets/${ds}/records`, body, { ...JSON_TYPE, 'idempotency-key': 'big-1' });
    expect(first.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json.data.ids).toEqual(first.json.data.ids);
    expect(await count(ds)).toBe(3000);
    const other = await call('POST', `/api/v1/datasets/${ds}/records`, body.replace('n1"', 'm1"'), {
      ...JSON_TYPE,
      'idempotency-key': 'big-1',
    });
    expect(other.status).toBe(422);
  });

  it('fails the call (rolled back, 500) if the worker thread dies mid-body, and starts a new one for the next', async () => {
    const ds = await createDataset();
    const body = JSON.stringify(Array.from({ length: 10_000 }, (_, i) => ({ data: { name: `n${i}` } })));
    const bulk = (t.loam.services.datasets.records as Json).bulk;
    const pending = call('POST', `/api/v1/datasets/${ds}/records`, body, JSON_TYPE);
    while (!bulk.worker || bulk.jobs.size === 0) await new Promise((r) => setTimeout(r, 1));
    await bulk.worker.terminate();
    expect((await pending).status).toBe(500);
    expect(await count(ds)).toBe(0);
    expect((await call('POST', `/api/v1/datasets/${ds}/records`, body, JSON_TYPE)).status).toBe(201);
    expect(await count(ds)).toBe(10_000);
  });

  it('lands concurrent large inserts into one dataset (no deadlock between them), answering other requests meanwhile', async () => {
    const ds = await createDataset();
    const bodies = [0, 1, 2].map((b) =>
      JSON.stringify(Array.from({ length: 4000 }, (_, i) => ({ id: `b${b}-${i}`, data: { name: 'n' } }))),
    );
    const results = await Promise.all([
      ...bodies.map((body) => call('POST', `/api/v1/datasets/${ds}/records`, body, JSON_TYPE)),
      call('GET', '/healthz'),
    ]);
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 200]);
    expect(await count(ds)).toBe(12_000);
  });
});

describe('jsonArrayChunks', () => {
  it('cuts an array between top-level elements, whatever the strings and nesting hold', () => {
    const items = [{ a: '],[{"' }, [1, [2, { b: '\\"' }]], 'x,y', null, 3.5, { c: { d: [] } }, '\u2028é'];
    for (const size of [1, 2, 3, 7, 100]) {
      const chunks = [...jsonArrayChunks(` \n${JSON.stringify(items, null, size % 2 ? 2 : 0)}\n`, size)];
      expect(chunks.flat()).toEqual(items);
      expect(chunks.map((c) => c.length)).toEqual(chunks.map((_, k) => Math.min(size, items.length - k * size)));
    }
    expect([...jsonArrayChunks('[ ]', 5)]).toEqual([]);
    for (const bad of ['[1,2,]', '[1,,2]', '[,1]', '[1', '[1]]', '["a\\"]', '{"a":1}', '[1] 2', '["\\\\"x]'])
      for (const size of [1, 2]) expect(() => [...jsonArrayChunks(bad, size)], `${bad} / ${size}`).toThrow(/not valid JSON/);
    expect([...jsonArrayChunks('["\\\\",2]', 1)]).toEqual([['\\'], [2]]);
  });
});
