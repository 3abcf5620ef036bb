import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { ManualClock, type TestLoam, apiCaller, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';

type Json = Record<string, any>;

/**
 * A local HTTP server speaking Open Policy Agent's Data API (`POST /v1/data/<path>` with
 * `{input}` → `{result}`), standing in for OPA with this policy: deny restricted datasets, allow
 * the rest. `mode` makes it slow, fail or answer an undefined document.
 */
function fakeOpa() {
  const state = { inputs: [] as Json[], paths: [] as string[], mode: 'ok' as 'ok' | 'slow' | 'error' | 'undefined' };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const { input } = JSON.parse(body);
      state.inputs.push(input);
      state.paths.push(req.url ?? '');
      const send = (status: number, answer: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer));
      };
      if (state.mode === 'slow') return setTimeout(() => send(200, { result: { allow: true } }), 3000);
      if (state.mode === 'error') return send(500, { code: 'internal_error' });
      if (state.mode === 'undefined') return send(200, {});
      const restricted = input.resource.attributes?.classification === 'restricted';
      send(200, { result: { allow: !restricted, reasons: restricted ? ['restricted data needs approval'] : [] } });
    });
  });
  return { server, state };
}

describeEachDialect('policies: Open Policy Agent beside Cedar', (dialect) => {
  let t: TestLoam;
  const call = apiCaller(() => t);
  const opa = fakeOpa();
  let open: string;
  let restricted: string;

  beforeAll(async () => {
    await new Promise<void>((r) => opa.server.listen(0, '127.0.0.1', r));
    const { port } = opa.server.address() as AddressInfo;
    t = await createTestLoam({
      dialect,
      config: {
        rateLimitEnabled: false,
        opaUrl: `http://127.0.0.1:${port}/`,
        opaPolicyPath: 'loam/authz',
        opaTimeoutMs: 1000,
        opaCacheTtlMs: 0,
      },
    });
    const mk = async (name: string, classification: string) =>
      (await call('POST', '/api/v1/datasets', { name, classification, schema: { fields: [] } })).json.data.id as string;
    open = await mk('open', 'internal');
    restricted = await mk('locked', 'restricted');
  });
  afterAll(async () => {
    await t.close();
    opa.server.closeAllConnections();
    await new Promise((r) => opa.server.close(r));
  });
  beforeEach(() => {
    opa.state.mode = 'ok';
    opa.state.inputs.length = 0;
  });

  const evaluate = async (id: string, action = 'datasets:read') =>
    (await call('POST', '/api/v1/policies/evaluate', { resource: { type: 'Dataset', id }, action })).json.data;

  it('asks OPA with {subject, resource, action, context} and enforces its denial on the routes and in evaluate', async () => {
    const ok = await call('GET', `/api/v1/datasets/${open}`);
    expect(ok.status, ok.body).toBe(200);
    const asked = opa.state.inputs.find((i) => i.resource.id === open && i.action === 'datasets:read');
    expect(asked).toMatchObject({
      subject: { tenant_id: 'default', kind: 'api_key' },
      resource: { type: 'Dataset', id: open, tenant_id: 'default', attributes: { classification: 'internal' } },
      action: 'datasets:read',
      context: expect.any(Object),
    });
    expect(opa.state.paths.at(-1)).toBe('/v1/data/loam/authz');

    const denied = await call('GET', `/api/v1/datasets/${restricted}`);
    expect(denied.status).toBe(403);
    expect(denied.json.detail).toMatch(/denied by OPA: restricted data needs approval/);
    expect(await evaluate(restricted)).toMatchObject({ decision: 'deny', reasons: ['denied by OPA: restricted data needs approval'] });
    expect(await evaluate(open)).toMatchObject({ decision: 'allow' });
  });

  it('denies when OPA fails, times out or has no such document', async () => {
    for (const mode of ['error', 'slow', 'undefined'] as const) {
      opa.state.mode = mode;
      const r = await call('GET', `/api/v1/datasets/${open}`);
      expect(r.status, mode).toBe(403);
      expect(r.json.detail, mode).toMatch(mode === 'undefined' ? /document is undefined/ : /OPA unreachable/);
    }
    opa.state.mode = 'ok';
    expect((await call('GET', `/api/v1/datasets/${open}`)).status).toBe(200);
  });

  it('needs Cedar to allow too: a Cedar denial is final and OPA is not asked', async () => {
    const r = await call('POST', '/api/v1/admin/policies', {
      name: 'analysts read nothing',
      policy: 'forbid(principal in Loam::Role::"analyst", action, resource is Loam::Dataset);',
    });
    expect(r.status, r.body).toBe(201);
    const permit = await call('POST', '/api/v1/admin/policies', { name: 'rest', policy: 'permit(principal, action, resource);' });
    expect(permit.status, permit.body).toBe(201);
    const analyst = await keyHeaders(t, 'default', { roles: ['analyst'], scopes: ['datasets:read'] });
    opa.state.inputs.length = 0;
    const denied = await call('GET', `/api/v1/datasets/${open}`, undefined, analyst);
    expect(denied.status).toBe(403);
    expect(denied.json.detail).toMatch(/forbidden by policy/);
    expect(opa.state.inputs.filter((i) => i.resource.type === 'Dataset')).toEqual([]);
    expect((await call('GET', `/api/v1/datasets/${open}`)).status).toBe(200);
  });
});

describeEachDialect('policies: OPA decisions cached for LOAM_OPA_CACHE_TTL_MS', (dialect) => {
  let t: TestLoam;
  const call = apiCaller(() => t);
  const opa = fakeOpa();
  const clock = new ManualClock();

  beforeAll(async () => {
    await new Promise<void>((r) => opa.server.listen(0, '127.0.0.1', r));
    const { port } = opa.server.address() as AddressInfo;
    t = await createTestLoam({
      dialect,
      clock,
      config: { rateLimitEnabled: false, opaUrl: `http://127.0.0.1:${port}`, opaCacheTtlMs: 5000 },
    });
  });
  afterAll(async () => {
    await t.close();
    opa.server.closeAllConnections();
    await new Promise((r) => opa.server.close(r));
  });

  it('asks OPA once per input within the TTL, again after it, but never reuses a failure', async () => {
    const ds = (await call('POST', '/api/v1/datasets', { name: 'cached', schema: { fields: [] } })).json.data.id;
    const asked = () => opa.state.inputs.filter((i) => i.resource.id === ds && i.action === 'datasets:read').length;
    opa.state.inputs.length = 0;
    for (let i = 0; i < 3; i++) expect((await call('GET', `/api/v1/datasets/${ds}`)).status).toBe(200);
    expect(asked(), JSON.stringify(opa.state.inputs)).toBe(1);
    expect(opa.state.paths.at(-1)).toBe('/v1/data/loam/authz/allow');
    clock.advance(4000);
    expect((await call('GET', `/api/v1/datasets/${ds}`)).status).toBe(200);
    expect(asked()).toBe(1);
    clock.advance(1001);
    expect((await call('GET', `/api/v1/datasets/${ds}`)).status).toBe(200);
    expect(asked()).toBe(2);
    // A failure is not cached: the next request asks again.
    const other = (await call('POST', '/api/v1/datasets', { name: 'cached-2', schema: { fields: [] } })).json.data.id;
    opa.state.mode = 'error';
    expect((await call('GET', `/api/v1/datasets/${other}`)).status).toBe(403);
    opa.state.mode = 'ok';
    expect((await call('GET', `/api/v1/datasets/${other}`)).status).toBe(200);
  });
});
