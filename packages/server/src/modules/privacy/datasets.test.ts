import { afterAll, beforeAll, expect, it } from 'vitest';
import { fromJson } from '../../platform/db/index.js';
import type { RequestContext } from '../../platform/context.js';
import type { Principal } from '../../platform/principal.js';
import { type TestLoam, createTestLoam, describeEachDialect, eventually } from '../../test/harness.js';
import type { DatasetService } from '../datasets/services/datasets.js';
import { DatasetPrivacy, classificationOf } from './datasets.js';

/** The privacy engine on datasets: the service and the `/api/v1/datasets/{id}/anonymize|aggregate` routes. */
describeEachDialect('privacy on datasets', (dialect) => {
  let t: TestLoam;
  let datasets: DatasetService;
  let onDatasets: DatasetPrivacy;
  const admin: Principal = { tenantId: 'default', subject: 'key_test', kind: 'api_key', roles: ['admin'], scopes: ['*'] };
  const other: Principal = { tenantId: 'tenant_b', subject: 'key_b', kind: 'api_key', roles: ['admin'], scopes: ['*'] };
  const contextOf = (principal: Principal): RequestContext => ({
    tenantId: principal.tenantId,
    principal,
    requestId: 'test',
    ip: '127.0.0.1',
  });
  let datasetId: string;
  let versionId: string;

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { privacyDefaultEpsilon: 1 } });
    await t.loam.platform.transaction((tx) => t.loam.services.tenants.ensure(tx, 'tenant_b', 'B'));
    datasets = t.loam.services.datasets;
    // The module registered the job kind at start; this instance shares its handler's behaviour.
    onDatasets = new DatasetPrivacy(t.loam.platform, t.loam.services.privacy, datasets);
    const ds = await datasets.create(contextOf(admin), {
      name: 'patients',
      schema: {
        fields: [
          { name: 'name', type: 'string', required: true, pii: 'name' },
          { name: 'email', type: 'string', required: false, pii: 'email' },
          { name: 'age', type: 'integer', required: true },
          { name: 'zip', type: 'string', required: true },
          { name: 'dx', type: 'string', required: false },
        ],
      },
    });
    datasetId = ds.id;
    await datasets.records.insertRecords(
      contextOf(admin),
      ds.id,
      Array.from({ length: 60 }, (_, i) => ({
        id: `p${i}`,
        data: {
          name: `Qx${i} Zyw`,
          email: `p${i}@example.com`,
          age: 20 + (i % 40),
          zip: `SW${i % 5} ${i % 3}AA`,
          dx: ['flu', 'cold', 'none'][i % 3],
        },
      })),
    );
    versionId = (await datasets.versions.finalize(contextOf(admin), ds.id, { name: 'v1' })).id;
    t.loam.startBackground({ workers: 1, relay: false });
  });
  afterAll(() => t.close());

  it('maps schema pii classifications to entity types', () => {
    expect(
      classificationOf([
        { name: 'a', type: 'string', required: false, pii: 'email' },
        { name: 'b', type: 'string', required: false, pii: 'none' },
      ]),
    ).toEqual({
      a: 'EMAIL_ADDRESS',
    });
  });

  it('anonymizes a version into a derived dataset, with lineage and an event, as a job', async () => {
    const { jobId, runId } = await onDatasets.startAnonymization(contextOf(admin), datasetId, {
      version: versionId,
      policy: {
        operators: { EMAIL_ADDRESS: { type: 'hash' } },
        fields: { dx: { type: 'keep' } },
        privacy_model: {
          k: 5,
          quasi_identifiers: [
            { field: 'age', type: 'number' },
            { field: 'zip', type: 'postcode' },
          ],
        },
      },
    });
    const job = await eventually(async () => {
      const j = await t.loam.platform.jobs.get(jobId, 'default');
      if (j?.status === 'dead') throw new Error(`job failed: ${j.lastError}`);
      return j?.status === 'succeeded' ? j : undefined;
    }, 20_000);
    const result = job?.result as { dataset_id: string; records: number };
    expect(result.records).toBe(60);
    const derived = await datasets.get(contextOf(admin), result.dataset_id);
    expect(derived.derived_from).toEqual({ dataset_id: datasetId, version_id: versionId });
    const { items } = await datasets.records.queryRecords(contextOf(admin), result.dataset_id, { limit: 1000 });
    expect(items).toHaveLength(60);
    const byId = new Map(items.map((r) => [r.id, r.data as Record<string, unknown>]));
    const p0 = byId.get('p0') as Record<string, unknown>;
    expect(p0.name).toBe('<PERSON>'); // schema pii: name
    expect(p0.email).toMatch(/^[0-9a-f]{64}$/);
    expect(p0.dx).toBe('flu');
    // k-anonymity, checked independently on the stored records.
    const sizes = new Map<string, number>();
    for (const r of byId.values()) sizes.set(`${r.age}|${r.zip}`, (sizes.get(`${r.age}|${r.zip}`) ?? 0) + 1);
    expect(Math.min(...sizes.values())).toBeGreaterThanOrEqual(5);
    // Lineage names the run, its operators and parameters, never keys.
    const lineage = await datasets.lineage.get(contextOf(admin), datasetId);
    const run = lineage.nodes.find((n) => n.id === runId);
    expect(run?.type).toBe('anonymization_run');
    expect(run?.attributes).toMatchObject({
      operators: { EMAIL_ADDRESS: { type: 'hash' } },
      records_in: 60,
      derived_dataset_id: result.dataset_id,
    });
    expect(lineage.edges).toContainEqual(expect.objectContaining({ from: versionId, to: runId, relation: 'anonymized' }));
    const events = await t.loam.platform.database.db
      .selectFrom('outbox_events')
      .selectAll()
      .where('type', '=', 'io.loam.record.anonymized')
      .execute();
    expect(fromJson<Record<string, unknown>>(events[0].data)).toMatchObject({ run_id: runId, dataset_id: result.dataset_id, records: 60 });
  });

  it('HTTP: 202 with a job for anonymize; 404 for another tenant; scopes enforced', async () => {
    const keys = t.loam.services.apiKeys;
    const b = { 'x-api-key': (await keys.create('tenant_b', { name: 'b', scopes: ['anonymization:use', 'datasets:read'] })).key };
    const useOnly = { 'x-api-key': (await keys.create('default', { name: 'u', scopes: ['anonymization:use'] })).key };
    const url = `/api/v1/datasets/${datasetId}/anonymize`;
    const payload = { version: versionId, policy: { operators: { DEFAULT: { type: 'redact' } } } };
    const res = await t.app.inject({ method: 'POST', url, payload, headers: t.admin });
    expect(res.statusCode).toBe(202);
    expect(res.headers.location).toBe(`/api/v1/jobs/${res.json().data.id}`);
    expect(res.json().data.kind).toBe('privacy.anonymize_dataset');
    expect((await t.app.inject({ method: 'POST', url, payload, headers: b })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'POST', url, payload, headers: useOnly })).statusCode).toBe(403);
    const bad = await t.app.inject({
      method: 'POST',
      url,
      payload: { policy: { operators: { X: { type: 'explode' } } } },
      headers: t.admin,
    });
    expect(bad.statusCode).toBe(400);
    const agg = await t.app.inject({
      method: 'POST',
      url: `/api/v1/datasets/${datasetId}/aggregate`,
      payload: { query: { type: 'count', epsilon: 0.1 } },
      headers: b,
    });
    expect(agg.statusCode).toBe(404);
  });

  it('dataset aggregates spend the dataset’s ε budget and are refused once it is spent', async () => {
    const first = await onDatasets.aggregate(contextOf(admin), datasetId, { type: 'count', epsilon: 0.7 }, versionId);
    expect(Math.abs((first.value as number) - 60)).toBeLessThan(40);
    expect(first.budget).toMatchObject({ subject: datasetId, epsilon_remaining: 0.3 });
    await expect(
      onDatasets.aggregate(contextOf(admin), datasetId, { type: 'mean', field: 'age', lower: 0, upper: 100, epsilon: 0.5 }),
    ).rejects.toMatchObject({
      status: 409,
      code: 'privacy_budget_exhausted',
    });
    await expect(onDatasets.aggregate(contextOf(other), datasetId, { type: 'count', epsilon: 0.1 })).rejects.toMatchObject({ status: 404 });
  });
});

describeEachDialect('PII fields at rest', (dialect) => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ dialect, http: false });
  });
  afterAll(() => t.close());

  it('encrypts classified fields bound to their record and field; moving a value fails', async () => {
    const privacy = t.loam.services.privacy;
    const pii = ['email', 'card'];
    const stored = await privacy.encryptPiiFields('default', 'ds_1', 'rec_1', pii, { email: 'a@b.co', age: 41, card: null, note: 'hi' });
    expect(stored.email).toMatch(/^enc:v1:dk_/);
    expect(stored).toMatchObject({ age: 41, card: null, note: 'hi' });
    expect(await privacy.decryptPiiFields('default', 'ds_1', 'rec_1', pii, stored)).toEqual({
      email: 'a@b.co',
      age: 41,
      card: null,
      note: 'hi',
    });
    await expect(privacy.decryptPiiFields('default', 'ds_1', 'rec_2', pii, stored)).rejects.toThrow(/altered|another record/);
    await expect(privacy.decryptPiiFields('default', 'ds_1', 'rec_1', ['other'], { other: stored.email })).rejects.toThrow();
    // A plaintext where a ciphertext belongs is refused, not passed through.
    await expect(privacy.decryptPiiFields('default', 'ds_1', 'rec_1', pii, { email: 'a@b.co' })).rejects.toThrow(/not encrypted/);
    // Values that look like ciphertexts (an encrypt operator's output) are encrypted again and come back as they were.
    const again = await privacy.encryptPiiFields('default', 'ds_1', 'rec_1', pii, { email: stored.email });
    expect(again.email).not.toBe(stored.email);
    expect(await privacy.decryptPiiFields('default', 'ds_1', 'rec_1', pii, again)).toEqual({ email: stored.email });
  });
});
