import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';

/**
 * A tenant's Cedar policies take effect on every datasets route, per resource type: `Dataset`
 * (the dataset itself, and the container every other check starts with), `Version` and `Record`.
 */
describeEachDialect('datasets: Cedar policies per resource type', (dialect) => {
  let t: TestLoam;
  let engineer: { 'x-api-key': string };
  let ds: string;
  let vid: string;
  const policyIds: string[] = [];

  const call = async (method: string, url: string, payload?: unknown, headers: Record<string, string> = engineer) => {
    const res = await t.app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: res.statusCode, json: res.body ? res.json() : undefined };
  };
  /** Adds policies, with a permit of everything (a tenant with policies denies what none permits). */
  const policies = async (...forbids: string[]) => {
    for (const policy of ['permit(principal, action, resource);', ...forbids]) {
      const r = await call('POST', '/api/v1/admin/policies', { name: `p${policyIds.length}`, policy }, t.admin);
      expect(r.status).toBe(201);
      policyIds.push(r.json.data.id);
    }
  };

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
    engineer = await keyHeaders(t, 'default', { roles: ['data_engineer'] });
    const created = await call('POST', '/api/v1/datasets', { name: 'cedar', classification: 'confidential' });
    ds = created.json.data.id;
    expect(
      (
        await call('POST', `/api/v1/datasets/${ds}/records`, [
          { id: 'r1', data: { a: 1 } },
          { id: 'r2', data: { a: 2 } },
        ])
      ).status,
    ).toBe(201);
    vid = (await call('POST', `/api/v1/datasets/${ds}/versions`, { name: 'v1' })).json.data.id;
  });
  afterEach(async () => {
    for (const id of policyIds.splice(0))
      expect((await call('DELETE', `/api/v1/admin/policies/${id}`, undefined, t.admin)).status).toBe(204);
  });
  afterAll(() => t?.close());

  const base = () => `/api/v1/datasets/${ds}`;

  it('without policies, scopes decide', async () => {
    expect((await call('GET', base())).status).toBe(200);
    expect((await call('GET', `${base()}/versions/${vid}`)).status).toBe(200);
    expect((await call('GET', `${base()}/records/r1`)).status).toBe(200);
  });

  it('Dataset: a forbid on reading datasets hides the dataset and what is in it; writes are still permitted', async () => {
    await policies('forbid(principal, action == Loam::Action::"read", resource is Loam::Dataset);');
    const denied = await call('GET', base());
    expect(denied.status).toBe(403);
    expect(denied.json.code).toBe('forbidden');
    expect((await call('GET', '/api/v1/datasets')).json.data.map((d: { id: string }) => d.id)).not.toContain(ds);
    expect((await call('GET', `${base()}/records/r1`)).status).toBe(403);
    expect((await call('GET', `${base()}/lineage`)).status).toBe(403);
    expect((await call('PATCH', `${base()}/records/r1`, { data: { a: 10 } })).status).toBe(200);
    expect((await call('GET', '/api/v1/admin/policies', undefined, t.admin)).status).toBe(200);
  });

  it('Version: a forbid on reading versions refuses versions and records read at a version, not the draft', async () => {
    await policies('forbid(principal, action == Loam::Action::"read", resource is Loam::Version);');
    expect((await call('GET', `${base()}/versions/${vid}`)).status).toBe(403);
    expect((await call('GET', `${base()}/versions`)).status).toBe(403);
    expect((await call('GET', `${base()}/records?version=${vid}`)).status).toBe(403);
    expect((await call('GET', `${base()}/versions/${vid}/diff/draft`)).status).toBe(403);
    expect((await call('GET', `${base()}/records`)).status).toBe(200);
    expect((await call('GET', base())).status).toBe(200);
    expect((await call('PATCH', `${base()}/versions/${vid}`, { description: 'still writable' })).status).toBe(200);
  });

  it('Version: a forbid on a version attribute (its dataset, as the tag `dataset`) refuses changing it', async () => {
    await policies(
      `forbid(principal, action == Loam::Action::"write", resource is Loam::Version) when { resource.hasTag("dataset") && resource.getTag("dataset") == "${ds}" };`,
    );
    expect((await call('POST', `${base()}/versions/${vid}/deprecate`)).status).toBe(403);
    expect((await call('POST', `${base()}/versions`, {})).status).toBe(403);
    expect((await call('GET', `${base()}/versions/${vid}`)).status).toBe(200);
  });

  it('Record: a forbid on reading records refuses every read of them; the dataset and its versions stay readable', async () => {
    await policies('forbid(principal, action == Loam::Action::"read", resource is Loam::Record);');
    expect((await call('GET', `${base()}/records/r1`)).status).toBe(403);
    expect((await call('GET', `${base()}/records`)).status).toBe(403);
    expect((await call('POST', `${base()}/records/query`, { filter: { a: 1 } })).status).toBe(403);
    expect((await call('GET', `${base()}/stats`)).status).toBe(403);
    expect((await call('POST', `${base()}/records/export`, {})).status).toBe(403);
    expect((await call('GET', base())).status).toBe(200);
    expect((await call('GET', `${base()}/versions/${vid}`)).status).toBe(200);
    expect((await call('POST', `${base()}/records`, [{ id: 'r3', data: { a: 3 } }])).status).toBe(201);
  });

  it('Record: a forbid on one record (by id) and on classification attributes', async () => {
    await policies(
      'forbid(principal, action, resource == Loam::Record::"r2");',
      'forbid(principal, action == Loam::Action::"write", resource is Loam::Record) when { resource.classification == "confidential" };',
    );
    expect((await call('GET', `${base()}/records/r2`)).status).toBe(403);
    expect((await call('GET', `${base()}/records/r1`)).status).toBe(200);
    expect((await call('DELETE', `${base()}/records/r1`)).status).toBe(403);
    expect((await call('PATCH', base(), { description: 'datasets are still writable' })).status).toBe(200);
  });

  it('a denial is recorded as access.denied with the resource type', async () => {
    await policies('forbid(principal, action == Loam::Action::"read", resource is Loam::Record);');
    expect((await call('GET', `${base()}/records/r1`)).status).toBe(403);
    const rows = await t.loam.platform.database.db
      .selectFrom('outbox_events')
      .select('data')
      .where('type', '=', 'io.loam.access.denied')
      .where('subject', '=', 'r1')
      .execute();
    expect(rows.map((r) => JSON.parse(r.data))).toContainEqual(expect.objectContaining({ resource_type: 'Record', resource_id: 'r1' }));
  });
});

describe('datasets: another tenant', () => {
  it('is 404 before any policy is asked', async () => {
    const t = await createTestLoam({ config: { rateLimitEnabled: false } });
    try {
      const ds = (await t.app.inject({ method: 'POST', url: '/api/v1/datasets', headers: t.admin, payload: { name: 'x' } })).json().data.id;
      const other = await keyHeaders(t, 'other', { roles: ['admin'] });
      for (const url of [`/api/v1/datasets/${ds}`, `/api/v1/datasets/${ds}/records`, `/api/v1/datasets/${ds}/versions`])
        expect((await t.app.inject({ method: 'GET', url, headers: other })).statusCode).toBe(404);
    } finally {
      await t.close();
    }
  });
});
