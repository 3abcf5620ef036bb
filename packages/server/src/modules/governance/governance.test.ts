import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { drainEvents, keyHeaders } from '../../test/principals.js';

describeEachDialect('governance', (dialect) => {
  let t: TestLoam;
  const call = apiCaller(() => t);

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
  });
  afterAll(() => t.close());

  const report = async (datasetId: string, type = 'GDPR') => {
    const r = await call('GET', `/api/v1/governance/compliance-report?report_type=${type}&dataset_id=${datasetId}`);
    expect(r.status, r.body).toBe(200);
    return r.json.data;
  };
  const control = (rep: { controls: { id: string; status: string }[] }, id: string) => rep.controls.find((c) => c.id === id);

  it('flags a dataset with an unencrypted PII field, and passes once it is fixed', async () => {
    const fields = [
      { name: 'contact', type: 'string' },
      { name: 'n', type: 'integer' },
    ];
    const ds = (await call('POST', '/api/v1/datasets', { name: 'leads', schema: { fields } })).json.data.id;
    const ins = await call('POST', `/api/v1/datasets/${ds}/records`, [
      { id: 'r1', data: { contact: 'jane.doe@example.com', n: 1 } },
      { id: 'r2', data: { contact: 'bob@example.org', n: 2 } },
    ]);
    expect(ins.status).toBe(201);

    const flagged = await report(ds);
    expect(flagged).toMatchObject({ report_type: 'GDPR', dataset_id: ds, status: 'fail' });
    const pii = control(flagged, 'pii_encrypted');
    expect(pii).toMatchObject({ status: 'fail', reference: 'GDPR Art. 32(1)(a)' });
    expect(flagged.violations).toEqual([
      expect.objectContaining({
        control: 'pii_encrypted',
        resource_id: ds,
        detail: expect.stringMatching(/field contact holds unencrypted PII \(EMAIL/),
      }),
    ]);
    expect((await report(ds, 'HIPAA')).controls.map((c: { reference: string }) => c.reference)).toContain('HIPAA §164.312(b)');

    // The fix: clear the values stored in clear, classify the field, write the records again
    // (now encrypted at rest).
    for (const id of ['r1', 'r2']) expect((await call('DELETE', `/api/v1/datasets/${ds}/records/${id}`)).status).toBe(204);
    const fixed = await call('PATCH', `/api/v1/datasets/${ds}`, { schema: { fields: [{ ...fields[0], pii: 'email' }, fields[1]] } });
    expect(fixed.status, fixed.body).toBe(200);
    const again = await call('POST', `/api/v1/datasets/${ds}/records`, [
      { id: 'r3', data: { contact: 'jane.doe@example.com', n: 1 } },
      { id: 'r4', data: { contact: 'bob@example.org', n: 2 } },
    ]);
    expect(again.status, again.body).toBe(201);
    const passed = await report(ds);
    expect(control(passed, 'pii_encrypted')).toMatchObject({ status: 'pass', remediation: null });
    expect(passed.violations.filter((v: { control: string }) => v.control === 'pii_encrypted')).toEqual([]);
  });

  it('reports the audit chain and access logging with evidence, and prints as HTML', async () => {
    await drainEvents(t);
    const rep = (await call('GET', '/api/v1/governance/compliance-report?report_type=SOC2')).json.data;
    expect(control(rep, 'audit_chain')).toMatchObject({ status: 'pass' });
    expect((control(rep, 'audit_chain') as unknown as { evidence: { entries_checked: number } }).evidence.entries_checked).toBeGreaterThan(
      0,
    );
    expect(control(rep, 'access_logged')?.status).toBe('pass');
    expect(rep.controls).toHaveLength(8);
    const html = await call('GET', '/api/v1/governance/compliance-report?report_type=SOC2', undefined, { accept: 'text/html' });
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toContain('<h1>SOC2 compliance report</h1>');
    expect(html.body).toContain('CC7.2');
    expect((await call('GET', '/api/v1/governance/compliance-report?dataset_id=ds_missing')).status).toBe(404);
    expect((await call('GET', '/api/v1/governance/compliance-report?report_type=PCI')).status).toBe(400);
  });

  it('evaluate agrees with what the routes enforce, with the obligations of the deciding policies', async () => {
    const ds = (
      await call('POST', '/api/v1/datasets', {
        name: 'secret',
        classification: 'restricted',
        schema: { fields: [{ name: 'n', type: 'integer' }] },
      })
    ).json.data.id;
    const open = (
      await call('POST', '/api/v1/datasets', {
        name: 'open',
        classification: 'internal',
        schema: { fields: [{ name: 'n', type: 'integer' }] },
      })
    ).json.data.id;
    const policies = [
      'permit(principal, action, resource);',
      '@obligation("log_access")\n@anonymize_fields("email,ssn")\nforbid(principal in Loam::Role::"analyst", action == Loam::Action::"read", resource is Loam::Dataset) when { resource.classification == "restricted" };',
    ];
    for (const [i, policy] of policies.entries()) {
      const r = await call('POST', '/api/v1/admin/policies', { name: `p${i}`, policy });
      expect(r.status, r.body).toBe(201);
    }
    const analyst = await keyHeaders(t, 'default', { roles: ['analyst'], scopes: ['datasets:read', 'policies:read'] });
    const evaluate = async (id: string, headers: Record<string, string> = analyst) =>
      (await call('POST', '/api/v1/policies/evaluate', { resource: { type: 'Dataset', id }, action: 'datasets:read' }, headers)).json.data;

    for (const id of [ds, open]) {
      const route = await call('GET', `/api/v1/datasets/${id}`, undefined, analyst);
      const decision = await evaluate(id);
      expect(decision.decision, id).toBe(route.status === 200 ? 'allow' : 'deny');
    }
    const denied = await evaluate(ds);
    expect(denied).toMatchObject({ decision: 'deny', obligations: [] });
    expect(denied.policy_ids.length).toBe(1);
    expect(denied.reasons[0]).toMatch(/forbidden by policy/);
    expect((await call('GET', `/api/v1/datasets/${ds}`, undefined, analyst)).status).toBe(403);

    // Asking about another subject: the admin evaluates a subject without the analyst role.
    const other = await call('POST', '/api/v1/policies/evaluate', {
      subject: { id: 'usr_x', roles: ['viewer'], scopes: ['datasets:read'] },
      resource: { type: 'Dataset', id: ds },
      action: 'datasets:read',
    });
    expect(other.json.data.decision).toBe('allow');
    // A subject without the scope is denied, as the route would deny it.
    const unscoped = await call('POST', '/api/v1/policies/evaluate', {
      subject: { roles: [] },
      resource: { type: 'Dataset', id: open },
      action: 'datasets:read',
    });
    expect(unscoped.json.data).toMatchObject({ decision: 'deny', reasons: ['missing scope datasets:read'] });
  });

  it('reports obligations of an allowing policy', async () => {
    const r = await call('POST', '/api/v1/admin/policies', {
      name: 'audited reads',
      policy: '@obligation("log_access")\n@anonymize_fields("email")\npermit(principal, action, resource);',
    });
    expect(r.status, r.body).toBe(201);
    const d = (
      await call('POST', '/api/v1/policies/evaluate', {
        subject: { scopes: ['datasets'] },
        resource: { type: 'Dataset', id: 'ds_any' },
        action: 'datasets:export',
      })
    ).json.data;
    expect(d.decision, JSON.stringify(d)).toBe('allow');
    expect(d.obligations, JSON.stringify(d)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'log_access' }),
        expect.objectContaining({ type: 'anonymize_fields', value: 'email' }),
      ]),
    );
  });
});
