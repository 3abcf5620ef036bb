import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { BULK_MIN_BYTES } from '../datasets/bulk.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies in tests
type Json = any;

/**
 * The privacy engine on the datasets write and read paths: encryption at rest of PII fields and
 * anonymize-on-insert policies, through the HTTP API, checked against the raw database rows.
 */
describeEachDialect('dataset records: PII encryption at rest and insert policies', (dialect) => {
  let t: TestLoam;

  const call = apiCaller(() => t);
  const db = () => t.loam.platform.database.db;
  /** The stored `data` of a record's live row, as the database holds it. */
  const rawData = async (datasetId: string, rid: string): Promise<string> => {
    const row = await db()
      .selectFrom('dataset_records')
      .select('data')
      .where('dataset_id', '=', datasetId)
      .where('id', '=', rid)
      .where('valid_to', 'is', null)
      .executeTakeFirstOrThrow();
    return typeof row.data === 'string' ? row.data : JSON.stringify(row.data);
  };
  const events = async (type: string): Promise<Json[]> =>
    (await db().selectFrom('outbox_events').selectAll().where('type', '=', `io.loam.${type}`).orderBy('seq').execute()).map((e: Json) => ({
      ...e,
      data: typeof e.data === 'string' ? JSON.parse(e.data) : e.data,
    }));
  const fields = [
    { name: 'email', type: 'string', required: true, pii: 'email' },
    { name: 'salary', type: 'integer', pii: 'salary' },
    { name: 'dob', type: 'datetime', pii: 'date_of_birth' },
    { name: 'age', type: 'integer' },
    { name: 'city', type: 'string', pii: 'none' },
  ];
  const people = [
    { id: 'p1', data: { email: 'ann@example.com', salary: 50_000, dob: '1980-01-02T00:00:00Z', age: 44, city: 'Oslo' } },
    { id: 'p2', data: { email: 'bob@example.com', salary: 70_000, dob: '1990-05-06T00:00:00Z', age: 34, city: 'Bergen' } },
    { id: 'p3', data: { email: 'ann@example.com', age: 21, city: 'Oslo', extra: { note: 'not in the schema' } } },
  ];
  const createDataset = async (name: string, extra: Record<string, unknown> = {}, schemaFields: unknown[] = fields) => {
    const r = await call('POST', '/api/v1/datasets', { name, schema: { fields: schemaFields }, ...extra });
    expect(r.status, r.body).toBe(201);
    return r.json.data;
  };
  const runExport = async (ds: string, body: Json) => {
    const r = await call('POST', `/api/v1/datasets/${ds}/records/export`, body);
    expect(r.status, r.body).toBe(202);
    await t.loam.platform.jobs.drain();
    const exp = await call('GET', r.json.links.export);
    expect(exp.json.data.status).toBe('succeeded');
    return (await call('GET', exp.json.links.download)).body;
  };
  const runImport = async (ds: string, ndjson: string) => {
    const r = await call('POST', `/api/v1/datasets/${ds}/records/import`, ndjson, { 'content-type': 'application/x-ndjson' });
    expect(r.status, r.body).toBe(202);
    await t.loam.platform.jobs.drain();
    const imp = await call('GET', r.json.links.import);
    expect(imp.json.data).toMatchObject({ status: 'succeeded', failed: 0 });
    return imp.json.data.id as string;
  };

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false, privacyDefaultEpsilon: 50 } });
  });
  afterAll(() => t.close());

  describe('encryption at rest', () => {
    let ds: string;

    beforeAll(async () => {
      const created = await createDataset('people');
      ds = created.id;
      expect(created.encrypted_fields).toEqual(['email', 'salary', 'dob']);
      expect(created.insert_policy).toBeNull();
      const ins = await call('POST', `/api/v1/datasets/${ds}/records`, people.slice(0, 2));
      expect(ins.status, ins.body).toBe(201);
      const nd = await call('POST', `/api/v1/datasets/${ds}/records`, `${JSON.stringify(people[2])}\n`, {
        'content-type': 'application/x-ndjson',
      });
      expect(nd.status, nd.body).toBe(201);
    });

    it('stores PII fields only as ciphertexts and reads them back as plaintext', async () => {
      for (const p of people) {
        const raw = await rawData(ds, p.id);
        expect(raw).not.toContain(p.data.email);
        expect(raw).not.toContain('ann@');
        const stored = JSON.parse(raw);
        expect(stored.email).toMatch(/^enc:v1:dk_/);
        if ('salary' in p.data) {
          expect(stored.salary).toMatch(/^enc:v1:dk_/);
          expect(raw).not.toContain(String(p.data.salary));
        }
        // Fields without a pii classification (or `none`) stay as they are.
        expect(stored.age).toBe(p.data.age);
        expect(stored.city).toBe(p.data.city);
        const got = await call('GET', `/api/v1/datasets/${ds}/records/${p.id}`);
        expect(got.status).toBe(200);
        expect(got.json.data.data).toEqual(p.data);
      }
      const list = await call(
        'GET',
        `/api/v1/datasets/${ds}/records?fields=email,salary&filter=${encodeURIComponent('{"age":{"$gt":30}}')}`,
      );
      expect(list.status, list.body).toBe(200);
      expect(list.json.data.map((r: Json) => r.data)).toEqual([
        { email: 'ann@example.com', salary: 50_000 },
        { email: 'bob@example.com', salary: 70_000 },
      ]);
      const query = await call('POST', `/api/v1/datasets/${ds}/records/query`, { sort: '-age', limit: 1 });
      expect(query.json.data[0].data).toEqual(people[0].data);
    });

    it('refuses filters, sorts, indexes and export filters on encrypted fields with a 400', async () => {
      const filter = async (f: unknown) => call('POST', `/api/v1/datasets/${ds}/records/query`, { filter: f });
      for (const f of [{ email: 'ann@example.com' }, { $or: [{ age: 1 }, { 'salary.x': { $gt: 1 } }] }, { $not: { dob: null } }]) {
        const r = await filter(f);
        expect(r.status).toBe(400);
        expect(r.json).toMatchObject({ code: 'encrypted_field', errors: [{ field: 'filter', code: 'encrypted_field' }] });
      }
      expect((await call('GET', `/api/v1/datasets/${ds}/records?filter=${encodeURIComponent('{"email":"x"}')}`)).status).toBe(400);
      const sort = await call('GET', `/api/v1/datasets/${ds}/records?sort=-salary`);
      expect(sort.status).toBe(400);
      expect(sort.json.detail).toContain("'salary' is encrypted");
      expect((await call('POST', `/api/v1/datasets/${ds}/indexes`, { field: 'email' })).json).toMatchObject({
        status: 400,
        code: 'encrypted_field',
      });
      expect((await call('POST', `/api/v1/datasets/${ds}/records/export`, { filter: { email: 'x' } })).status).toBe(400);
      // Other fields still filter, sort and index.
      expect((await filter({ city: 'Oslo' })).json.data.map((r: Json) => r.id)).toEqual(['p1', 'p3']);
      expect((await call('POST', `/api/v1/datasets/${ds}/indexes`, { field: 'city' })).status).toBe(201);
    });

    it('checksums the plaintext: an identical dataset gets the same version checksum', async () => {
      const v1 = await call('POST', `/api/v1/datasets/${ds}/versions`, { name: 'v1' });
      expect(v1.status).toBe(201);
      // The same records, another dataset, another order: other IVs, the same checksum.
      const twin = (await createDataset('people twin')).id;
      await call('POST', `/api/v1/datasets/${twin}/records`, [...people].reverse());
      const v1twin = await call('POST', `/api/v1/datasets/${twin}/versions`, {});
      expect(await rawData(twin, 'p1')).not.toBe(await rawData(ds, 'p1'));
      expect(v1twin.json.data.checksum).toBe(v1.json.data.checksum);
      // And the same as a dataset storing those records in plaintext.
      const plainFields = fields.map(({ pii: _pii, ...f }) => f);
      const plain = (await createDataset('people plain', {}, plainFields)).id;
      await call('POST', `/api/v1/datasets/${plain}/records`, people);
      expect((await call('POST', `/api/v1/datasets/${plain}/versions`, {})).json.data.checksum).toBe(v1.json.data.checksum);
      // ETags are content hashes too: equal records, equal ETags.
      const etag = async (id: string) => (await call('GET', `/api/v1/datasets/${id}/records/p2`)).headers.etag;
      expect(await etag(ds)).toBe(await etag(plain));
    });

    it('PATCHes encrypted records; versions, diffs, stats and exports read plaintext', async () => {
      const v1 = (await call('GET', `/api/v1/datasets/${ds}/versions`)).json.data[0].id;
      const patched = await call('PATCH', `/api/v1/datasets/${ds}/records/p1`, { data: { email: 'ann@new.example', salary: null } });
      expect(patched.status, patched.body).toBe(200);
      expect(patched.json.data.data).toEqual({ email: 'ann@new.example', dob: '1980-01-02T00:00:00Z', age: 44, city: 'Oslo' });
      const raw = await rawData(ds, 'p1');
      expect(raw).not.toContain('ann@new.example');
      expect(JSON.parse(raw).email).toMatch(/^enc:v1:/);
      expect((await call('GET', `/api/v1/datasets/${ds}/records/p1?version=${v1}`)).json.data.data).toEqual(people[0].data);
      expect((await call('GET', `/api/v1/datasets/${ds}/records/p1`)).json.data.data.email).toBe('ann@new.example');

      const diff = await call('GET', `/api/v1/datasets/${ds}/versions/${v1}/diff/draft?fields=true`);
      expect(diff.status).toBe(200);
      expect(diff.json.data.changes.p1).toEqual([
        { field: 'email', before: 'ann@example.com', after: 'ann@new.example' },
        { field: 'salary', before: 50_000, after: null },
      ]);

      const stats = await call('GET', `/api/v1/datasets/${ds}/stats?version=${v1}`);
      expect(stats.status).toBe(200);
      const field = (n: string) => stats.json.data.fields.find((f: Json) => f.name === n);
      expect(field('email')).toEqual({
        name: 'email',
        type: 'string',
        null_count: 0,
        distinct_estimate: 2,
        top_values: [
          { value: 'ann@example.com', count: 2 },
          { value: 'bob@example.com', count: 1 },
        ],
        encrypted: true,
      });
      expect(field('salary')).toMatchObject({ null_count: 1, distinct_estimate: 2, min: 50_000, max: 70_000, encrypted: true });
      expect(field('dob')).toMatchObject({ null_count: 1, min: '1980-01-02T00:00:00Z', max: '1990-05-06T00:00:00Z' });
      expect(field('age')).toMatchObject({ min: 21, max: 44 });
      expect(field('age').encrypted).toBeUndefined();

      const nd = await runExport(ds, { format: 'ndjson', version: v1 });
      expect(
        nd
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
      ).toEqual(people.map((p) => ({ id: p.id, ...p.data })));
      const csv = await runExport(ds, { format: 'csv', filter: { city: 'Oslo' } });
      expect(csv).toContain('ann@new.example');
      expect(csv).not.toContain('enc:v1:');
    });

    it('large bulk inserts (parsed on the worker thread) encrypt too, with the same checksums', async () => {
      const v1 = (await call('GET', `/api/v1/datasets/${ds}/versions`)).json.data.find((v: Json) => v.name === 'v1');
      const padded = `${JSON.stringify(people)}${' '.repeat(BULK_MIN_BYTES)}`; // whitespace: the same records
      const big = (await createDataset('people big')).id;
      expect((await call('POST', `/api/v1/datasets/${big}/records`, padded, { 'content-type': 'application/json' })).status).toBe(201);
      expect(await rawData(big, 'p1')).not.toContain('ann@');
      expect((await call('GET', `/api/v1/datasets/${big}/records/p1`)).json.data.data).toEqual(people[0].data);
      const plain = (
        await createDataset(
          'people big plain',
          {},
          fields.map(({ pii: _pii, ...f }) => f),
        )
      ).id;
      expect((await call('POST', `/api/v1/datasets/${plain}/records`, padded, { 'content-type': 'application/json' })).status).toBe(201);
      for (const id of [big, plain])
        expect((await call('POST', `/api/v1/datasets/${id}/versions`, {})).json.data.checksum).toBe(v1.checksum);
    });

    it('imports encrypt too', async () => {
      await runImport(ds, '{"id":"i1","email":"imp@example.com","salary":1,"age":5}\n');
      expect(await rawData(ds, 'i1')).not.toContain('imp@example.com');
      expect((await call('GET', `/api/v1/datasets/${ds}/records/i1`)).json.data.data).toEqual({
        email: 'imp@example.com',
        salary: 1,
        age: 5,
      });
    });

    it('the privacy engine reads decrypted records: anonymization runs and DP aggregates', async () => {
      const salaries = (await createDataset('salaries')).id;
      await call(
        'POST',
        `/api/v1/datasets/${salaries}/records`,
        Array.from({ length: 10 }, (_, i) => ({ data: { email: `s${i}@example.com`, salary: 100 } })),
      );
      const agg = await call('POST', `/api/v1/datasets/${salaries}/aggregate`, {
        query: { type: 'sum', field: 'salary', lower: 0, upper: 100, epsilon: 10 },
      });
      expect(agg.status, agg.body).toBe(200);
      // Sum 1,000 with Laplace noise of scale 10: off by 300 with probability e^-30. Ciphertexts would sum to 0.
      expect(Math.abs(agg.json.data.value - 1000)).toBeLessThan(300);
      const run = await call('POST', `/api/v1/datasets/${ds}/anonymize`, {
        policy: { fields: { email: { type: 'keep' }, salary: { type: 'keep' }, dob: { type: 'generalize' } }, ner: 'off' },
      });
      expect(run.status, run.body).toBe(202);
      await t.loam.platform.jobs.drain();
      const job = (await call('GET', `/api/v1/jobs/${run.json.data.id}`)).json.data;
      expect(job.status, JSON.stringify(job)).toBe('succeeded');
      const derived = job.result.dataset_id as string;
      const p2 = (await call('GET', `/api/v1/datasets/${derived}/records/p2`)).json.data.data;
      expect(p2).toMatchObject({ email: 'bob@example.com', salary: 70_000, dob: '1990', age: 34 });
      // The derived dataset keeps the pii classifications, so it encrypts them too.
      expect(await rawData(derived, 'p2')).not.toContain('bob@example.com');
    });

    it('refuses schema changes that would switch the encryption of fields holding values (409 with the count)', async () => {
      const current = (await call('GET', `/api/v1/datasets/${ds}`)).json.data;
      const patch = (schemaFields: unknown[]) => call('PATCH', `/api/v1/datasets/${ds}`, { schema: { fields: schemaFields } });
      const unclassified = await patch(fields.map((f) => (f.name === 'email' ? { ...f, pii: null } : f)));
      expect(unclassified.status).toBe(409);
      expect(unclassified.json).toMatchObject({ code: 'schema_incompatible', offending_count: 4 });
      expect(unclassified.json.detail).toContain('email');
      expect((await patch(fields.map((f) => (f.name === 'age' ? { ...f, pii: 'age' } : f)))).json.offending_count).toBe(4);
      expect((await patch(fields.filter((f) => f.name !== 'salary'))).json.offending_count).toBe(2);
      // A new PII field nobody holds yet is fine; so is changing a field the change leaves encrypted.
      const ok = await patch([
        ...fields.map((f) => (f.name === 'dob' ? { ...f, pii: 'dob' } : f)),
        { name: 'phone', type: 'string', pii: 'phone' },
      ]);
      expect(ok.status, ok.body).toBe(200);
      expect(ok.json.data.encrypted_fields).toEqual(['email', 'salary', 'dob', 'phone']);
      // Validation of a schema change sees the decrypted values: salary holds integers.
      const asString = await patch([...fields.map((f) => (f.name === 'salary' ? { ...f, type: 'string' } : f))]);
      expect(asString.json).toMatchObject({ status: 409, offending_count: 2 });
      expect(current.resource_version + 1).toBe(ok.json.data.resource_version);
    });

    it('a ciphertext moved to another record fails to decrypt: a clear error, never the plaintext', async () => {
      const tampered = (await createDataset('tampered')).id;
      await call('POST', `/api/v1/datasets/${tampered}/records`, people.slice(0, 2));
      const stolen = JSON.parse(await rawData(tampered, 'p1')).email;
      const target = JSON.parse(await rawData(tampered, 'p2'));
      await db()
        .updateTable('dataset_records')
        .set({ data: JSON.stringify({ ...target, email: stolen }) })
        .where('dataset_id', '=', tampered)
        .where('id', '=', 'p2')
        .execute();
      for (const url of [`/api/v1/datasets/${tampered}/records/p2`, `/api/v1/datasets/${tampered}/records`]) {
        const r = await call('GET', url);
        expect(r.status).toBe(500);
        expect(r.json).toMatchObject({ code: 'record_decryption_failed' });
        expect(r.json.detail).toMatch(/Field 'email' of record 'p2' could not be decrypted/);
        expect(r.body).not.toContain('ann@example.com');
        expect(r.body).not.toContain(stolen);
      }
      // Moved to another field of the same record: fails the same way.
      await db()
        .updateTable('dataset_records')
        .set({ data: JSON.stringify({ ...JSON.parse(await rawData(tampered, 'p1')), salary: stolen }) })
        .where('dataset_id', '=', tampered)
        .where('id', '=', 'p1')
        .execute();
      expect((await call('GET', `/api/v1/datasets/${tampered}/records/p1`)).status).toBe(500);
      // A plaintext written where a ciphertext belongs is refused too.
      await db()
        .updateTable('dataset_records')
        .set({ data: JSON.stringify({ ...target, email: 'forged@example.com' }) })
        .where('dataset_id', '=', tampered)
        .where('id', '=', 'p2')
        .execute();
      const forged = await call('GET', `/api/v1/datasets/${tampered}/records/p2`);
      expect(forged.status).toBe(500);
      expect(forged.body).not.toContain('forged@example.com');
    });

    it('records stay readable after a master key rotation and a restart', async () => {
      const before = await t.loam.services.keys.wrappedKeyOf('default', `dataset:${ds}`);
      const rotated = await call('POST', '/api/v1/admin/keys/rotate', {});
      expect(rotated.status).toBe(200);
      expect(await t.loam.services.keys.wrappedKeyOf('default', `dataset:${ds}`)).not.toBe(before);
      expect(JSON.stringify(await events('keys.rotated'))).not.toMatch(/file:v\d/);
      // A fresh process has no unwrapped keys cached: it unwraps with the new master key version.
      await t.stop();
      const again = await createTestLoam({ dialect, dataDir: t.dataDir, databaseUrl: t.databaseUrl, config: { rateLimitEnabled: false } });
      const close = t.close;
      t = {
        ...again,
        close: async () => {
          await again.stop();
          await close();
        },
      };
      const got = await call('GET', `/api/v1/datasets/${ds}/records/p2`);
      expect(got.status).toBe(200);
      expect(got.json.data.data).toEqual(people[1].data);
    });
  });

  describe('anonymize-on-insert policies', () => {
    const policy = {
      fields: {
        email: { type: 'mask', masking_char: '#', chars_to_mask: 3 },
        name: { type: 'hash' },
        phone: { type: 'tokenize' },
        note: { type: 'suppress' },
        age: { type: 'keep' },
      },
    };
    const policyFields = [
      { name: 'email', type: 'string', required: true, pii: 'email' },
      { name: 'name', type: 'string', required: true },
      { name: 'phone', type: 'string' },
      { name: 'note', type: 'string' },
      { name: 'age', type: 'integer' },
    ];
    let ds: string;

    beforeAll(async () => {
      const created = await createDataset('policy', { insert_policy: policy }, policyFields);
      ds = created.id;
      expect(created.insert_policy).toEqual(policy);
      expect((await call('GET', `/api/v1/datasets/${ds}`)).json.data.insert_policy).toEqual(policy);
    });

    it('anonymizes the policy fields of inserted records before storing them, with a record.anonymized event', async () => {
      const ins = await call('POST', `/api/v1/datasets/${ds}/records`, [
        { id: 'a', data: { email: 'ann@example.com', name: 'Ann Lee', phone: '+47 912 34 567', note: 'secret', age: 30 } },
        { id: 'b', data: { email: 'bob@example.com', name: 'Bob', age: 40 } },
      ]);
      expect(ins.status, ins.body).toBe(201);
      const a = (await call('GET', `/api/v1/datasets/${ds}/records/a`)).json.data.data;
      expect(a.email).toBe('###@example.com');
      expect(a.name).toMatch(/^[0-9a-f]{64}$/);
      expect(a.phone).toMatch(/^tok_[A-Za-z0-9]{24}$/);
      expect(a.note).toBeNull();
      expect(a.age).toBe(30);
      // Hashes are stable within the tenant; the masked email is still PII, so encrypted at rest.
      const raw = await rawData(ds, 'a');
      expect(raw).not.toContain('example.com');
      expect(raw).not.toContain('Ann Lee');
      expect(raw).not.toContain('secret');
      // The token reverses for holders of anonymization:reverse.
      const back = await call('POST', '/api/v1/anonymization/deanonymize', { text: a.phone });
      expect(back.json.data.text).toBe('+47 912 34 567');

      const [event] = (await events('record.anonymized')).filter((e) => e.data.dataset_id === ds);
      expect(event.data).toEqual({
        dataset_id: ds,
        operation: 'insert',
        ids: ['a', 'b'],
        count: 2,
        values: 6,
        fields: { email: policy.fields.email, name: policy.fields.name, phone: policy.fields.phone, note: policy.fields.note },
      });
      const text = JSON.stringify(event);
      for (const secret of ['ann@example.com', 'Ann Lee', '912 34', 'secret', 'Bob']) expect(text).not.toContain(secret);
    });

    it('applies the policy to the fields a PATCH sets, and to imports', async () => {
      const before = (await call('GET', `/api/v1/datasets/${ds}/records/b`)).json.data.data;
      const patched = await call('PATCH', `/api/v1/datasets/${ds}/records/b`, { data: { email: 'bob@new.example', age: 41 } });
      expect(patched.status, patched.body).toBe(200);
      // The name was not in the patch: its stored hash is not hashed again.
      expect(patched.json.data.data).toEqual({ ...before, email: '###@new.example', age: 41 });
      expect((await call('GET', `/api/v1/datasets/${ds}/records/b`)).json.data.data.email).toBe('###@new.example');
      const updateEvent = (await events('record.anonymized')).at(-1);
      // age is `keep`: not counted as anonymized.
      expect(updateEvent.data).toMatchObject({ operation: 'update', ids: ['b'], values: 1 });
      expect(updateEvent.data.fields).toEqual({ email: policy.fields.email });

      const importId = await runImport(ds, '{"id":"c","email":"cy@example.com","name":"Cy","note":"x"}\n');
      expect((await call('GET', `/api/v1/datasets/${ds}/records/c`)).json.data.data).toMatchObject({ email: '###example.com', note: null });
      expect((await events('record.anonymized')).at(-1).data).toMatchObject({ operation: 'import', import_id: importId, ids: ['c'] });
    });

    it('refuses invalid policies with a 400 naming the field', async () => {
      const bad = async (p: unknown, schemaFields: unknown[] = policyFields) => {
        const r = await call('POST', '/api/v1/datasets', {
          name: `bad ${Math.random()}`,
          schema: { fields: schemaFields },
          insert_policy: p,
        });
        expect(r.status, r.body).toBe(400);
        return r.json;
      };
      await bad({ fields: { email: { type: 'explode' } } });
      expect((await bad({ fields: { nope: { type: 'hash' } } })).errors).toEqual([
        expect.objectContaining({ field: 'insert_policy.fields.nope', code: 'unknown_field' }),
      ]);
      expect((await bad({ fields: { age: { type: 'mask' } } })).errors[0]).toMatchObject({
        field: 'insert_policy.fields.age',
        code: 'invalid_type',
      });
      expect((await bad({ fields: { name: { type: 'suppress' } } })).detail).toContain('required');
      await bad({ fields: { email: { type: 'mask', bogus: 1 } } });
      // PATCH: the policy, or a schema the policy no longer fits.
      expect((await call('PATCH', `/api/v1/datasets/${ds}`, { insert_policy: { fields: { age: { type: 'generalize' } } } })).status).toBe(
        400,
      );
      const retyped = policyFields.map((f) => (f.name === 'name' ? { ...f, type: 'object' } : f));
      expect((await call('PATCH', `/api/v1/datasets/${ds}`, { schema: { fields: retyped } })).status).toBe(400);
      expect((await call('GET', `/api/v1/datasets/${ds}`)).json.data.insert_policy).toEqual(policy);
    });

    it('PATCH sets and removes a policy', async () => {
      const plain = (await createDataset('policy later', {}, policyFields)).id;
      const set = await call('PATCH', `/api/v1/datasets/${plain}`, {
        insert_policy: { fields: { name: { type: 'replace', new_value: 'X' } } },
      });
      expect(set.status, set.body).toBe(200);
      expect(set.json.data.insert_policy).toEqual({ fields: { name: { type: 'replace', new_value: 'X' } } });
      expect((await events('dataset.updated')).at(-1).data.changed).toEqual(['insert_policy']);
      await call('POST', `/api/v1/datasets/${plain}/records`, [{ id: 'x', data: { email: 'e@x.io', name: 'Real Name' } }]);
      expect((await call('GET', `/api/v1/datasets/${plain}/records/x`)).json.data.data.name).toBe('X');
      const removed = await call('PATCH', `/api/v1/datasets/${plain}`, { insert_policy: null });
      expect(removed.json.data.insert_policy).toBeNull();
      await call('POST', `/api/v1/datasets/${plain}/records`, [{ id: 'y', data: { email: 'e@y.io', name: 'Real Name' } }]);
      expect((await call('GET', `/api/v1/datasets/${plain}/records/y`)).json.data.data.name).toBe('Real Name');
    });
  });
});
