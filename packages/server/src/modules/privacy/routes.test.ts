import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromJson } from '../../platform/db/index.js';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';

const BASE = '/api/v1/anonymization';

describeEachDialect('privacy HTTP API', (dialect) => {
  let t: TestLoam;
  /** Headers per credential: admin (tenant default), a key with only anonymization:use, one with reverse too, and tenant B. */
  let use: Record<string, string>;
  let reverse: Record<string, string>;
  let otherTenant: Record<string, string>;
  let noScope: Record<string, string>;

  const post = (url: string, payload: unknown, headers: Record<string, string> = t.admin) =>
    t.app.inject({ method: 'POST', url, payload: payload as object, headers });
  const get = (url: string, headers: Record<string, string> = t.admin) => t.app.inject({ method: 'GET', url, headers });
  const events = async (type: string) =>
    (await t.loam.platform.database.db.selectFrom('outbox_events').selectAll().where('type', '=', `io.loam.${type}`).execute()).map(
      (e) => ({
        ...e,
        data: fromJson<Record<string, unknown>>(e.data),
      }),
    );

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { privacyMaxTextBytes: 50_000, privacyDefaultEpsilon: 1 } });
    const keys = t.loam.services.apiKeys;
    await t.loam.platform.transaction((tx) => t.loam.services.tenants.ensure(tx, 'tenant_b', 'Tenant B'));
    use = { 'x-api-key': (await keys.create('default', { name: 'use', scopes: ['anonymization:use'] })).key };
    reverse = { 'x-api-key': (await keys.create('default', { name: 'rev', scopes: ['anonymization:use', 'anonymization:reverse'] })).key };
    otherTenant = {
      'x-api-key': (await keys.create('tenant_b', { name: 'b', scopes: ['anonymization:use', 'anonymization:reverse'] })).key,
    };
    noScope = { 'x-api-key': (await keys.create('default', { name: 'none', scopes: ['datasets:read'] })).key };
  });
  afterAll(() => t.close());

  describe('analyze', () => {
    it('finds entities in text with offsets, scores, recognizers and (optionally) text', async () => {
      const text = 'Contact Maria Garcia at maria@example.com or (415) 555-0132; card 4111 1111 1111 1111.';
      const res = await post(`${BASE}/analyze`, { text, include_text: true }, use);
      expect(res.statusCode).toBe(200);
      const { entities, counts } = res.json().data;
      const byType = Object.fromEntries(entities.map((e: { type: string }) => [e.type, e]));
      expect(byType.EMAIL_ADDRESS).toMatchObject({ text: 'maria@example.com', recognizer: 'EmailRecognizer', score: 1 });
      expect(text.slice(byType.EMAIL_ADDRESS.start, byType.EMAIL_ADDRESS.end)).toBe('maria@example.com');
      expect(byType.PERSON.text).toBe('Maria Garcia');
      expect(counts).toMatchObject({ EMAIL_ADDRESS: 1, PHONE_NUMBER: 1, CREDIT_CARD: 1, PERSON: 1 });
      const bare = (await post(`${BASE}/analyze`, { text }, use)).json().data.entities;
      expect(bare[0].text).toBeUndefined();
    });

    it('walks documents and record batches with JSON paths and field hints', async () => {
      const doc = await post(`${BASE}/analyze`, { document: { user: { email: 'a@b.co', tags: ['x', 'ip 10.1.2.3'] } } }, use);
      expect(doc.json().data.entities.map((e: { path: string; type: string }) => [e.path, e.type])).toEqual([
        ['$.user.email', 'EMAIL_ADDRESS'],
        ['$.user.tags[1]', 'IP_ADDRESS'],
      ]);
      const recs = await post(
        `${BASE}/analyze`,
        { records: [{ last_name: 'Qwxyz' }, { note: 'fine' }, { ssn: '536-22-1234' }], classification: { note: 'NOTE' } },
        use,
      );
      expect(recs.json().data.entities.map((e: { path: string; type: string }) => [e.path, e.type])).toEqual([
        ['$[0].last_name', 'PERSON'],
        ['$[1].note', 'NOTE'],
        ['$[2].ssn', 'US_SSN'],
      ]);
    });

    it('rejects bad input with problem+json, never 500', async () => {
      expect((await post(`${BASE}/analyze`, {}, use)).statusCode).toBe(400);
      expect((await post(`${BASE}/analyze`, { text: 'a', records: [] }, use)).statusCode).toBe(400);
      const big = await post(`${BASE}/analyze`, { text: 'x'.repeat(60_000) }, use);
      expect(big.statusCode).toBe(413);
      expect(big.headers['content-type']).toMatch(/problem\+json/);
      expect((await post(`${BASE}/analyze`, { text: 'a', min_score: 2 }, use)).statusCode).toBe(400);
      expect((await post(`${BASE}/analyze`, { text: 'a' }, {})).statusCode).toBe(401);
      expect((await post(`${BASE}/analyze`, { text: 'a' }, noScope)).statusCode).toBe(403);
    });
  });

  describe('anonymize', () => {
    it('applies the default and per-type operators to text', async () => {
      const text = 'Mail jane@example.com, card 4111 1111 1111 1111, born 1985-03-12, ip 10.0.0.1, ssn 536-22-1234.';
      const res = await post(
        `${BASE}/anonymize`,
        {
          text,
          operators: {
            CREDIT_CARD: { type: 'mask', keep_last: 4 },
            DATE_TIME: { type: 'generalize', granularity: 'year' },
            IP_ADDRESS: { type: 'keep' },
            US_SSN: { type: 'redact' },
          },
        },
        use,
      );
      expect(res.statusCode).toBe(200);
      const out = res.json().data;
      expect(out.text).toBe('Mail <EMAIL_ADDRESS>, card ***************1111, born 1985, ip 10.0.0.1, ssn .');
      expect(out.items.map((i: { operator: string }) => i.operator)).toEqual(['replace', 'mask', 'generalize', 'keep', 'redact']);
      const suppressed = (
        await post(`${BASE}/anonymize`, { text: 'Write to a@b.co today', operators: { DEFAULT: { type: 'suppress' } } }, use)
      ).json().data;
      expect(suppressed.text).toBe('Write to today');
    });

    it('hash is a keyed HMAC: stable within a tenant, different across tenants', async () => {
      const body = { text: 'a@b.co', operators: { EMAIL_ADDRESS: { type: 'hash' } } };
      const a1 = (await post(`${BASE}/anonymize`, body, use)).json().data.text;
      const a2 = (await post(`${BASE}/anonymize`, body, use)).json().data.text;
      const b = (await post(`${BASE}/anonymize`, body, otherTenant)).json().data.text;
      expect(a1).toMatch(/^[0-9a-f]{64}$/);
      expect(a1).toBe(a2);
      expect(b).not.toBe(a1);
    });

    it('pseudonymize gives realistic surrogates, consistent per value within a scope', async () => {
      const body = (scope: string) => ({
        text: 'jane@example.com wrote to bob@example.com and jane@example.com again',
        operators: { EMAIL_ADDRESS: { type: 'pseudonymize', scope } },
      });
      const out = (await post(`${BASE}/anonymize`, body('s1'), use)).json().data.text as string;
      const emails = out.match(/\S+@\S+/g) ?? [];
      expect(emails).toHaveLength(3);
      expect(emails[0]).toBe(emails[2]);
      expect(emails[0]).not.toBe(emails[1]);
      expect(emails[0]).not.toBe('jane@example.com');
      expect(emails[0]).toMatch(/^[^@\s]+@example\.com$/);
      expect((await post(`${BASE}/anonymize`, body('s1'), use)).json().data.text).toBe(out);
      expect((await post(`${BASE}/anonymize`, body('s2'), use)).json().data.text).not.toBe(out);
    });

    it('tokenize and encrypt are reversed by deanonymize, which needs its own scope and is audited', async () => {
      const text = 'Reach Ann at ann@example.com, SSN 536-22-1234.';
      const res = await post(
        `${BASE}/anonymize`,
        { text, operators: { EMAIL_ADDRESS: { type: 'tokenize' }, US_SSN: { type: 'encrypt' } } },
        use,
      );
      const masked = res.json().data.text as string;
      expect(masked).toMatch(/tok_[A-Za-z0-9]{24}/);
      expect(masked).toMatch(/enc:v1:dk_/);
      expect(masked).not.toContain('ann@example.com');
      expect(masked).not.toContain('536-22-1234');
      // The same value gets the same token.
      const again = (
        await post(`${BASE}/anonymize`, { text: 'ann@example.com', operators: { EMAIL_ADDRESS: { type: 'tokenize' } } }, use)
      ).json().data.text;
      expect(masked).toContain(again);

      expect((await post(`${BASE}/deanonymize`, { text: masked }, use)).statusCode).toBe(403);
      const restored = await post(`${BASE}/deanonymize`, { text: masked }, reverse);
      expect(restored.statusCode).toBe(200);
      expect(restored.json().data).toMatchObject({ text: 'Reach <PERSON> at ann@example.com, SSN 536-22-1234.', restored: 2 });
      const audit = await events('anonymization.deanonymized');
      expect(audit.at(-1)?.data).toMatchObject({ restored: 2, actor_kind: 'api_key' });
      expect(JSON.stringify(audit)).not.toContain('ann@example.com');

      // Another tenant can neither look up the token nor decrypt the ciphertext.
      const token = masked.match(/tok_[A-Za-z0-9]{24}/)?.[0];
      expect((await post(`${BASE}/deanonymize`, { text: token }, otherTenant)).statusCode).toBe(404);
      const ciphertext = masked.match(/enc:v1:\S+?(?=\.$)/)?.[0];
      const foreign = await post(`${BASE}/deanonymize`, { text: ciphertext }, otherTenant);
      expect(foreign.statusCode).toBe(400);
      expect(foreign.json().code).toBe('decryption_failed');
    });

    it('a tampered ciphertext is refused, not decrypted to garbage', async () => {
      const masked = (await post(`${BASE}/anonymize`, { text: 'x@y.io', operators: { EMAIL_ADDRESS: { type: 'encrypt' } } }, use)).json()
        .data.text as string;
      const last = masked.at(-2) === 'A' ? 'B' : 'A';
      const tampered = `${masked.slice(0, -2)}${last}${masked.at(-1)}`;
      const res = await post(`${BASE}/deanonymize`, { text: tampered }, reverse);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('decryption_failed');
    });

    it('records: field operators, detected entities, nested values, and k-anonymity', async () => {
      const records = Array.from({ length: 40 }, (_, i) => ({
        name: `Person ${i}`,
        email: `user${i}@example.com`,
        age: 20 + (i % 30),
        zip: `SW${i % 4}A ${i % 7}BB`,
        profile: { phone: '(415) 555-0132' },
      }));
      const res = await post(
        `${BASE}/anonymize`,
        {
          records,
          fields: { name: { type: 'suppress' } },
          operators: { EMAIL_ADDRESS: { type: 'mask', masking_char: '#', chars_to_mask: 4 } },
          privacy_model: {
            k: 5,
            quasi_identifiers: [
              { field: 'age', type: 'number' },
              { field: 'zip', type: 'postcode' },
            ],
          },
        },
        use,
      );
      expect(res.statusCode).toBe(200);
      const out = res.json().data;
      expect(out.privacy).toMatchObject({ satisfied: true, suppressed: 0 });
      expect(out.records).toHaveLength(40);
      expect(out.records[0].name).toBeNull();
      expect(out.records[0].email).toMatch(/^####/);
      expect(out.records[0].profile.phone).toBe('<PHONE_NUMBER>');
      const sizes = new Map<string, number>();
      for (const r of out.records) sizes.set(`${r.age}|${r.zip}`, (sizes.get(`${r.age}|${r.zip}`) ?? 0) + 1);
      expect(Math.min(...sizes.values())).toBeGreaterThanOrEqual(5);
      const doc = (await post(`${BASE}/anonymize`, { document: { a: [{ email: 'q@w.io' }] } }, use)).json().data;
      expect(doc.document).toEqual({ a: [{ email: '<EMAIL_ADDRESS>' }] });
    });
  });

  describe('validate', () => {
    it('reports k, ℓ, risk and residual PII', async () => {
      const records = [
        { zip: '10001', age: 30, dx: 'flu', note: 'ok' },
        { zip: '10001', age: 30, dx: 'cold', note: 'call 415-555-0132' },
        { zip: '10002', age: 40, dx: 'flu', note: 'ok' },
      ];
      const res = await post(`${BASE}/validate`, { records, quasi_identifiers: ['zip', 'age'], k: 2, sensitive: 'dx', l: 2 }, use);
      expect(res.statusCode).toBe(200);
      expect(res.json().data).toMatchObject({
        records: 3,
        equivalence_classes: 2,
        k: 1,
        k_satisfied: false,
        l: 1,
        l_satisfied: false,
        max_risk: 1,
        records_at_risk: 0.3333,
        residual_pii: { total: 1, by_type: { PHONE_NUMBER: 1 } },
      });
    });
  });

  describe('differential privacy budgets', () => {
    it('charges ε per query and refuses once the budget is spent', async () => {
      const records = Array.from({ length: 100 }, (_, i) => ({ v: i }));
      const q = (epsilon: number) => ({ budget: 'ds_budget', records, query: { type: 'count', epsilon } });
      const first = await post(`${BASE}/aggregate`, q(0.6), use);
      expect(first.statusCode).toBe(200);
      expect(first.json().data).toMatchObject({
        type: 'count',
        mechanism: 'laplace',
        budget: { epsilon_total: 1, epsilon_spent: 0.6, epsilon_remaining: 0.4 },
      });
      expect(typeof first.json().data.value).toBe('number');
      const refused = await post(`${BASE}/aggregate`, q(0.5), use);
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({ code: 'privacy_budget_exhausted', epsilon_remaining: 0.4 });
      expect((await post(`${BASE}/aggregate`, q(0.4), use)).statusCode).toBe(200);
      expect((await post(`${BASE}/aggregate`, q(0.01), use)).statusCode).toBe(409);
      expect((await get(`${BASE}/budgets/ds_budget`, use)).json().data).toMatchObject({ epsilon_spent: 1, epsilon_remaining: 0 });
      // Budgets are per tenant.
      expect((await get(`${BASE}/budgets/ds_budget`, otherTenant)).json().data).toMatchObject({ epsilon_spent: 0 });
      // An admin may raise the budget; a plain key may not.
      const put = (headers: Record<string, string>) =>
        t.app.inject({ method: 'PUT', url: `${BASE}/budgets/ds_budget`, payload: { epsilon_total: 2 }, headers });
      expect((await put(use)).statusCode).toBe(403);
      expect((await put(t.admin)).json().data).toMatchObject({ epsilon_total: 2, epsilon_remaining: 1 });
      expect(
        (await post(`${BASE}/aggregate`, { budget: 'ds_budget', records, query: { type: 'sum', field: 'v', epsilon: 0.5 } }, use))
          .statusCode,
      ).toBe(400);
      expect((await events('anonymization.budget_charged')).length).toBe(2);
    });
  });

  describe('recognizers', () => {
    it('CRUD, used by analyze, isolated per tenant, unsafe regexes refused', async () => {
      const created = await post(
        `${BASE}/recognizers`,
        { name: 'employee id', entity_type: 'EMPLOYEE_ID', patterns: [{ regex: 'EMP-\\d{6}', score: 0.3 }], context: ['employee'] },
        use,
      );
      expect(created.statusCode).toBe(201);
      const id = created.json().data.id;
      expect(created.headers.location).toBe(`${BASE}/recognizers/${id}`);
      const found = (text: string, headers = use) =>
        post(`${BASE}/analyze`, { text, include_text: true }, headers).then((r) =>
          (r.statusCode === 200 ? r.json().data : { entities: [r.statusCode, r.body] }).entities.filter(
            (e: { type: string }) => e.type === 'EMPLOYEE_ID',
          ),
        );
      expect(await found('ref EMP-123456 ok')).toEqual([]); // 0.3 is below the default threshold
      expect((await found('employee EMP-123456 ok'))[0]).toMatchObject({ text: 'EMP-123456', recognizer: 'tenant:employee id' });
      expect(await found('employee EMP-123456 ok', otherTenant)).toEqual([]);

      expect((await get(`${BASE}/recognizers`, use)).json().data.map((r: { id: string }) => r.id)).toContain(id);
      expect((await get(`${BASE}/recognizers/${id}`, otherTenant)).statusCode).toBe(404);
      const patched = await t.app.inject({ method: 'PATCH', url: `${BASE}/recognizers/${id}`, payload: { enabled: false }, headers: use });
      expect(patched.json().data.enabled).toBe(false);
      expect(await found('employee EMP-123456 ok')).toEqual([]);
      expect((await t.app.inject({ method: 'DELETE', url: `${BASE}/recognizers/${id}`, headers: otherTenant })).statusCode).toBe(404);
      expect((await t.app.inject({ method: 'DELETE', url: `${BASE}/recognizers/${id}`, headers: use })).statusCode).toBe(204);
      expect((await get(`${BASE}/recognizers/${id}`, use)).statusCode).toBe(404);

      const unsafe = await post(`${BASE}/recognizers`, { name: 'bad', entity_type: 'X', patterns: [{ regex: '(a+)+$', score: 0.5 }] }, use);
      expect(unsafe.statusCode).toBe(400);
      expect(unsafe.json().errors[0]).toMatchObject({ field: 'patterns[0].regex', code: 'unsafe_regex' });
      const invalid = await post(
        `${BASE}/recognizers`,
        { name: 'bad2', entity_type: 'X', patterns: [{ regex: '([a-z', score: 0.5 }] },
        use,
      );
      expect(invalid.json().errors[0].code).toBe('invalid_regex');
      const tooLong = await post(
        `${BASE}/recognizers`,
        { name: 'bad3', entity_type: 'X', patterns: [{ regex: 'a'.repeat(501), score: 0.5 }] },
        use,
      );
      expect(tooLong.statusCode).toBe(400);
      expect((await events('anonymization.recognizer_created')).length).toBeGreaterThanOrEqual(1);
    });
  });

  describe('catalogue, metrics, keys', () => {
    it('documents every route in the OpenAPI description', async () => {
      const spec = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      for (const path of [
        'analyze',
        'anonymize',
        'deanonymize',
        'validate',
        'aggregate',
        'techniques',
        'metrics',
        'recognizers',
        'recognizers/{id}',
        'budgets/{subject}',
      ])
        expect(Object.keys(spec.paths)).toContain(`${BASE}/${path}`);
      expect(Object.keys(spec.paths)).toContain('/api/v1/admin/keys/rotate');
    });

    it('lists every operator and privacy model with parameters', async () => {
      const res = await get(`${BASE}/techniques`, use);
      const names = res.json().data.map((x: { name: string }) => x.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'replace',
          'redact',
          'mask',
          'hash',
          'pseudonymize',
          'tokenize',
          'encrypt',
          'generalize',
          'keep',
          'suppress',
          'k_anonymity',
          'l_diversity',
          'reidentification_risk',
          'differential_privacy',
        ]),
      );
      expect(
        res
          .json()
          .data.find((x: { name: string }) => x.name === 'mask')
          .parameters.map((p: { name: string }) => p.name),
      ).toContain('keep_last');
    });

    it('counts entities by type, operator use and throughput per tenant', async () => {
      const before = (await get(`${BASE}/metrics`, otherTenant)).json().data;
      await post(`${BASE}/anonymize`, { text: 'a@b.co and c@d.co', operators: { EMAIL_ADDRESS: { type: 'mask' } } }, otherTenant);
      const after = (await get(`${BASE}/metrics`, otherTenant)).json().data;
      expect((after.entities_by_type.EMAIL_ADDRESS ?? 0) - (before.entities_by_type.EMAIL_ADDRESS ?? 0)).toBe(2);
      expect((after.operators.mask ?? 0) - (before.operators.mask ?? 0)).toBe(2);
      expect(after.analyzed_bytes).toBeGreaterThan(before.analyzed_bytes);
      expect(after.anonymize_requests).toBe(before.anonymize_requests + 1);
    });

    it('rotates the master key (platform admins only) and data stays readable', async () => {
      const masked = (await post(`${BASE}/anonymize`, { text: 'k@l.io', operators: { EMAIL_ADDRESS: { type: 'encrypt' } } }, use)).json()
        .data.text;
      expect((await post('/api/v1/admin/keys/rotate', {}, use)).statusCode).toBe(403);
      const res = await post('/api/v1/admin/keys/rotate', {});
      expect(res.statusCode).toBe(200);
      expect(res.json().data.provider).toBe('file');
      expect(res.json().data.rewrapped).toBeGreaterThanOrEqual(1);
      expect((await post(`${BASE}/deanonymize`, { text: masked }, reverse)).json().data.text).toBe('k@l.io');
      const rotated = await events('keys.rotated');
      expect(rotated.length).toBe(1);
      expect(JSON.stringify(rotated)).not.toMatch(/file:v\d/);
    });
  });
});
