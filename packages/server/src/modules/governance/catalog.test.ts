import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';

type Json = Record<string, any>;

describeEachDialect('governance: catalogue and anonymization requirements', (dialect) => {
  let t: TestLoam;
  const call = apiCaller(() => t);
  let customers: string;
  let secret: string;

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
    const mk = async (body: Json) => {
      const r = await call('POST', '/api/v1/datasets', body);
      expect(r.status, r.body).toBe(201);
      return r.json.data.id as string;
    };
    const customerFields = [
      { name: 'email', type: 'string', pii: 'email' },
      { name: 'contact', type: 'string' },
      { name: 'birth_date', type: 'string' },
      { name: 'plan', type: 'string' },
    ];
    customers = await mk({
      name: 'Customers EU',
      description: 'Paying customers of the 100% plan',
      tags: ['crm', 'billing'],
      classification: 'confidential',
      schema: { fields: customerFields },
    });
    secret = await mk({
      name: 'payroll',
      classification: 'restricted',
      tags: ['hr'],
      schema: {
        fields: [
          { name: 'salary', type: 'number' },
          { name: 'address', type: 'string' },
        ],
      },
    });
    await mk({ name: 'weather', description: 'daily readings', schema: { fields: [{ name: 'temp', type: 'number' }] } });
    const ins = await call('POST', `/api/v1/datasets/${customers}/records`, [
      { id: 'c1', data: { email: 'ann@example.com', contact: 'call +1 415 555 0132 or ann@example.com', plan: 'pro' } },
    ]);
    expect(ins.status, ins.body).toBe(201);
    expect((await call('POST', `/api/v1/datasets/${customers}/versions`, { name: 'v1' })).status).toBe(201);
    const patched = await call('PATCH', `/api/v1/datasets/${customers}`, {
      schema: { fields: [...customerFields, { name: 'region', type: 'string' }] },
    });
    expect(patched.status, patched.body).toBe(200);
    expect((await call('POST', `/api/v1/datasets/${customers}/versions`, { name: 'v2' })).status).toBe(201);
    expect((await call('POST', `/api/v1/datasets/${customers}/versions`, { name: 'v3' })).status).toBe(201);
  });
  afterAll(() => t.close());

  const search = async (query: string, headers?: Record<string, string>) => {
    const r = await call('GET', `/api/v1/catalog/datasets?query=${encodeURIComponent(query)}`, undefined, headers);
    expect(r.status, r.body).toBe(200);
    return r.json.data as Json[];
  };

  it('finds datasets by name, description, tag and schema field name, with their versions', async () => {
    expect((await search('customers')).map((d) => d.id)).toEqual([customers]);
    expect((await search('CRM'))[0]).toMatchObject({ id: customers, matched: ['tags'] });
    expect((await search('region'))[0]).toMatchObject({ id: customers, matched: ['fields'] });
    expect((await search('100%'))[0]).toMatchObject({ id: customers, matched: ['description'] });
    expect(await search('50%')).toEqual([]); // % is matched literally, not as a wildcard
    expect(await search('number')).toEqual([]); // a field type, not a field name
    expect((await search('')).length).toBe(3);
    const [entry] = await search('customers');
    expect(entry.fields).toEqual(['email', 'contact', 'birth_date', 'plan', 'region']);
    expect(entry.versions.map((v: Json) => [v.name, v.record_count, v.schema_version])).toEqual([
      ['v1', 1, 1],
      ['v2', 1, 2],
      ['v3', 1, 2],
    ]);
    const version = (await call('GET', `/api/v1/datasets/${customers}/versions/${entry.versions[0].id}`)).json.data;
    expect(entry.versions[0].checksum).toBe(version.checksum);
    expect(entry.versions[0].checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('lists only datasets the caller may read, and nothing of another tenant', async () => {
    for (const policy of [
      'permit(principal, action, resource);',
      'forbid(principal in Loam::Role::"analyst", action, resource is Loam::Dataset) when { resource.classification == "restricted" };',
    ]) {
      const r = await call('POST', '/api/v1/admin/policies', { name: `p ${policy.slice(0, 6)}`, policy });
      expect(r.status, r.body).toBe(201);
    }
    const analyst = await keyHeaders(t, 'default', { roles: ['analyst'], scopes: ['datasets:read'] });
    const names = (await search('', analyst)).map((d) => d.name).sort();
    expect(names).toEqual(['Customers EU', 'weather']);
    expect((await search('', t.admin)).map((d) => d.name)).toContain('payroll');
    const other = await keyHeaders(t, 'catalog-other', { roles: ['admin'] });
    expect(await search('', other)).toEqual([]);
    const unscoped = await keyHeaders(t, 'default', { scopes: ['content:read'] });
    expect((await call('GET', '/api/v1/catalog/datasets', undefined, unscoped)).status).toBe(403);
    expect((await call('GET', `/api/v1/catalog/datasets?query=${'x'.repeat(201)}`)).status).toBe(400);
    expect((await call('GET', '/api/v1/catalog/datasets?limit=1')).json.data).toHaveLength(1);
    expect((await call('GET', '/api/v1/catalog/datasets?limit=201')).status).toBe(400);
  });

  it('derives anonymization requirements from classification, schema, detection and field names', async () => {
    const r = await call('POST', '/api/v1/policies/anonymization-requirements', { dataset_id: customers });
    expect(r.status, r.body).toBe(200);
    const req = r.json.data;
    expect(req.classification).toBe('confidential');
    const byField = Object.fromEntries(req.pii_fields.map((f: Json) => [f.field, f]));
    expect(byField.email).toMatchObject({ pii_type: 'email', source: 'classification', technique: 'pseudonymize' });
    expect(byField.contact).toMatchObject({ source: 'detection' });
    expect(byField.birth_date).toMatchObject({ pii_type: 'date_of_birth', source: 'field_name', technique: 'generalize' });
    expect(byField.plan).toBeUndefined();
    expect(req.required_techniques).toEqual(expect.arrayContaining(['encrypt', 'generalize', 'pseudonymize']));

    // Records about to be written: their schema adds fields; restricted data with quasi-identifiers needs k-anonymity.
    const restricted = (
      await call('POST', '/api/v1/policies/anonymization-requirements', {
        dataset_id: secret,
        record_schema: {
          fields: [
            { name: 'ssn', type: 'string' },
            { name: 'salary', type: 'number' },
          ],
        },
      })
    ).json.data;
    expect(restricted.pii_fields.map((f: Json) => [f.field, f.pii_type, f.technique])).toEqual([
      ['address', 'address', 'generalize'],
      ['ssn', 'ssn', 'redact'],
    ]);
    expect(restricted.required_techniques).toEqual(['encrypt', 'generalize', 'k_anonymity', 'redact']);

    const other = await keyHeaders(t, 'catalog-other', { roles: ['admin'] });
    expect((await call('POST', '/api/v1/policies/anonymization-requirements', { dataset_id: customers }, other)).status).toBe(404);
    expect((await call('POST', '/api/v1/policies/anonymization-requirements', { dataset_id: 'ds_nope' })).status).toBe(404);
    const bad = await call('POST', '/api/v1/policies/anonymization-requirements', {
      dataset_id: customers,
      record_schema: { fields: [{ name: '1x' }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toMatch(/problem\+json/);
  });
});
