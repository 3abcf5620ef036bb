import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';

type Json = Record<string, any>;

describeEachDialect('datasets: the lineage graph across datasets, as JSON and Mermaid', (dialect) => {
  let t: TestLoam;
  const call = apiCaller(() => t);
  const ids: Record<string, string> = {};
  const versions: Record<string, string> = {};

  const create = async (name: string, body: Json = {}) => {
    const r = await call('POST', '/api/v1/datasets', { name, schema: { fields: [{ name: 'n', type: 'integer' }] }, ...body });
    expect(r.status, r.body).toBe(201);
    return r.json.data.id as string;
  };
  const version = async (ds: string) => {
    const r = await call('POST', `/api/v1/datasets/${ds}/versions`, {});
    expect(r.status, r.body).toBe(201);
    return r.json.data.id as string;
  };

  // A ─v1─▶ B ─v1─▶ C (derived datasets); A v1 ─▶ anonymization run ─▶ D; A exported; A v1 indexed into a document.
  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
    ids.A = await create('source "A"');
    expect((await call('POST', `/api/v1/datasets/${ids.A}/records`, [{ id: 'r1', data: { n: 1 } }])).status).toBe(201);
    versions.A = await version(ids.A);
    ids.B = await create('B', { derived_from: { dataset_id: ids.A, version_id: versions.A } });
    versions.B = await version(ids.B);
    ids.C = await create('C', { classification: 'restricted', derived_from: { dataset_id: ids.B, version_id: versions.B } });
    ids.D = await create('D');
    const node = { id: 'anr_test1', type: 'anonymization_run', label: 'mask', attributes: { derived_dataset_id: ids.D } };
    const lineage = t.loam.services.datasets.lineage;
    await lineage.recordLineage({
      tenantId: 'default',
      datasetId: ids.A,
      nodes: [node],
      edges: [{ from: versions.A, to: node.id, relation: 'anonymized' }],
    });
    await lineage.recordLineage({
      tenantId: 'default',
      datasetId: ids.D,
      nodes: [node],
      edges: [{ from: node.id, to: ids.D, relation: 'derived' }],
    });
    expect((await call('POST', `/api/v1/datasets/${ids.A}/records/export`, { format: 'ndjson' })).status).toBe(202);
    // A knowledge-base document indexed from A's v1 (its metadata names the source).
    const collection = (await call('POST', '/api/v1/collections', { name: 'kb' })).json.data.id;
    const doc = await call('POST', '/api/v1/documents', {
      collection_id: collection,
      filename: 'a-v1.ndjson',
      content_type: 'application/x-ndjson',
      metadata: { source_dataset_id: ids.A, source_version_id: versions.A },
    });
    expect(doc.status, doc.body).toBe(201);
    ids.doc = doc.json.data.id;
    const unknown = await call('POST', '/api/v1/documents', {
      collection_id: collection,
      filename: 'x.txt',
      content_type: 'text/plain',
      metadata: { source_dataset_id: 'ds_nope' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json.detail).toMatch(/Dataset/);
    // The same as a multipart upload: 404, and the uploaded file is not kept.
    const objects = async () =>
      (await t.loam.platform.database.db.selectFrom('storage_objects').select('key').where('tenant_id', '=', 'default').execute()).length;
    const stored = await objects();
    const boundary = '----lineage';
    const part = (name: string, value: string, file = '') =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file}\r\n${file ? 'Content-Type: text/plain\r\n' : ''}\r\n${value}\r\n`;
    const body = `${part('collection_id', collection)}${part('metadata', JSON.stringify({ source_dataset_id: 'ds_nope' }))}${part('file', 'some text', '; filename="x.txt"')}--${boundary}--\r\n`;
    const upload = await call('POST', '/api/v1/documents', body, { 'content-type': `multipart/form-data; boundary=${boundary}` });
    expect(upload.status, upload.body).toBe(404);
    expect(upload.json.detail).toMatch(/Dataset/);
    expect(await objects()).toBe(stored);
  });
  afterAll(() => t.close());

  const graph = async (id: string, query = '', headers?: Record<string, string>) => {
    const r = await call('GET', `/api/v1/datasets/${id}/lineage${query}`, undefined, headers);
    expect(r.status, r.body).toBe(200);
    return r.json.data as Json;
  };
  const names = (g: Json) => g.datasets.map((id: string) => Object.keys(ids).find((k) => ids[k] === id));

  it('joins the graphs of the datasets around it: versions, exports, anonymization runs, derived datasets', async () => {
    const g = await graph(ids.A);
    expect(g).toMatchObject({ dataset_id: ids.A, depth: 3, direction: 'both' });
    expect(names(g).sort()).toEqual(['A', 'B', 'C', 'D']);
    const types = new Set(g.nodes.map((n: Json) => n.type));
    for (const type of ['dataset', 'version', 'export', 'anonymization_run', 'document']) expect(types.has(type), type).toBe(true);
    expect(g.edges).toEqual(
      expect.arrayContaining([
        { from: versions.A, to: ids.B, relation: 'derived' },
        { from: versions.B, to: ids.C, relation: 'derived' },
        { from: versions.A, to: 'anr_test1', relation: 'anonymized' },
        { from: 'anr_test1', to: ids.D, relation: 'derived' },
        { from: versions.A, to: ids.doc, relation: 'indexed_into' },
      ]),
    );
    expect(new Set(g.nodes.map((n: Json) => n.id)).size).toBe(g.nodes.length);
    expect(new Set(g.edges.map((e: Json) => JSON.stringify(e))).size).toBe(g.edges.length);
  });

  it('follows depth and direction', async () => {
    expect(names(await graph(ids.A, '?depth=0'))).toEqual(['A']);
    expect(names(await graph(ids.A, '?depth=1')).sort()).toEqual(['A', 'B', 'D']);
    expect(names(await graph(ids.C, '?direction=upstream'))).toEqual(['C', 'B', 'A']);
    expect(names(await graph(ids.C, '?direction=downstream'))).toEqual(['C']);
    expect(names(await graph(ids.B, '?direction=downstream'))).toEqual(['B', 'C']);
    expect(names(await graph(ids.D, '?direction=upstream'))).toEqual(['D']);
    for (const q of ['?depth=11', '?depth=-1', '?direction=sideways', '?format=svg'])
      expect((await call('GET', `/api/v1/datasets/${ids.A}/lineage${q}`)).status, q).toBe(400);
  });

  it('renders a Mermaid flowchart on ?format=mermaid or Accept: text/vnd.mermaid', async () => {
    const r = await call('GET', `/api/v1/datasets/${ids.A}/lineage?format=mermaid&depth=1`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/vnd\.mermaid/);
    const lines = r.body.trim().split('\n');
    expect(lines[0]).toBe('flowchart LR');
    expect(r.body).toContain('source #34;A#34;'); // quotes in labels are escaped
    // A, B and D joined, and C as B's graph names it (one hop further): B v1 → C is drawn.
    expect(lines.filter((l: string) => l.includes('-->|derived|'))).toHaveLength(3);
    expect(lines.filter((l: string) => /^ {2}n\d+\[\(/.test(l))).toHaveLength(4);
    const byAccept = await call('GET', `/api/v1/datasets/${ids.A}/lineage?depth=1`, undefined, { accept: 'text/vnd.mermaid' });
    expect(byAccept.headers['content-type']).toMatch(/^text\/vnd\.mermaid/);
    expect(byAccept.body).toBe(r.body);
  });

  it('keeps only datasets the caller may read, and hides the graph from another tenant', async () => {
    for (const policy of [
      'permit(principal, action, resource);',
      'forbid(principal in Loam::Role::"analyst", action, resource is Loam::Dataset) when { resource.classification == "restricted" };',
    ])
      expect((await call('POST', '/api/v1/admin/policies', { name: `p ${policy.length}`, policy })).status).toBe(201);
    const analyst = await keyHeaders(t, 'default', { roles: ['analyst'], scopes: ['datasets:read'] });
    const seen = await graph(ids.A, '', analyst);
    expect(names(seen).sort()).toEqual(['A', 'B', 'D']);
    // C is not named at all: not its node (recorded in B's graph), not the edge to it.
    expect(seen.nodes.map((n: Json) => n.id)).not.toContain(ids.C);
    expect(seen.edges.filter((e: Json) => e.to === ids.C || e.from === ids.C)).toEqual([]);
    expect(JSON.stringify(seen)).not.toContain(ids.C);
    const fromB = await graph(ids.B, '?depth=0', analyst);
    expect(names(fromB)).toEqual(['B']);
    expect(JSON.stringify(fromB)).not.toContain(ids.C);
    // C's own graph (as an admin sees it) names B's version: hidden from whoever may not read B.
    const reader = await keyHeaders(t, 'default', { roles: ['restricted-reader'], scopes: ['datasets:read'] });
    expect(
      (
        await call('POST', '/api/v1/admin/policies', {
          name: 'no B',
          policy: `forbid(principal in Loam::Role::"restricted-reader", action, resource == Loam::Dataset::"${ids.B}");`,
        })
      ).status,
    ).toBe(201);
    const fromC = await graph(ids.C, '?depth=0', reader);
    expect(fromC.nodes.map((n: Json) => n.id)).not.toContain(versions.B);
    expect((await graph(ids.C, '?depth=0')).nodes.map((n: Json) => n.id)).toContain(versions.B);
    expect((await call('GET', `/api/v1/datasets/${ids.C}/lineage`, undefined, analyst)).status).toBe(403);
    const other = await keyHeaders(t, 'lineage-other', { roles: ['admin'] });
    expect((await call('GET', `/api/v1/datasets/${ids.A}/lineage`, undefined, other)).status).toBe(404);
  });
});
