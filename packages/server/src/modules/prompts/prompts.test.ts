import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestContext } from '../../platform/context.js';
import type { DialectName } from '../../platform/db/index.js';
import { ManualClock, type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const URL_SAFE = /^[A-Za-z0-9_-]+$/;

interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  key?: string;
  /** Sent as Go clients send it: no charset, `<>&` escaped as \u003c…, trailing newline. */
  body?: unknown;
}

/** A caller of the service itself, holding the `ai` scope in `tenantId`. */
const seeder = (tenantId: string): RequestContext => ({
  tenantId,
  principal: { tenantId, subject: 'seed', kind: 'api_key', roles: [], scopes: ['ai'] },
  requestId: 'seed',
  ip: '127.0.0.1',
});

async function keyFor(t: TestLoam, tenantId: string, scopes: string[]): Promise<string> {
  await t.loam.platform.transaction((tx) => t.loam.services.tenants.ensure(tx, tenantId, tenantId));
  return (await t.loam.services.apiKeys.create(tenantId, { name: `${tenantId} ${scopes.join(' ')}`, scopes })).key;
}

function caller(t: TestLoam) {
  return async ({ method, url, key, body }: Call) => {
    const headers: Record<string, string> = key ? { 'x-api-key': key } : {};
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = `${JSON.stringify(body).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')}\n`;
    }
    return t.app.inject({ method, url, headers, payload });
  };
}

describeEachDialect('Atriumn prompts API (contracts/atriumn.md §4)', (dialect: DialectName) => {
  let t: TestLoam;
  let call: ReturnType<typeof caller>;
  let writer: string;
  let reader: string;
  let stranger: string;
  let writerId: string;
  const clock = new ManualClock();

  beforeAll(async () => {
    t = await createTestLoam({ dialect, clock, config: { rateLimitMultiplier: 1000, atriumnPrefix: '/atriumn' } });
    call = caller(t);
    writer = await keyFor(t, 'default', ['ai:read', 'ai:write']);
    reader = await keyFor(t, 'default', ['ai:read']);
    stranger = await keyFor(t, 'other-tenant', ['ai']);
    writerId = (await t.loam.services.apiKeys.authenticate(writer))?.subject as string;
  });
  afterAll(() => t.close());

  const create = async (body: Record<string, unknown>, key = writer) => {
    const r = await call({ method: 'POST', url: '/prompts', key, body });
    expect(r.statusCode, r.body).toBe(201);
    return r.json().prompt as Record<string, unknown> & { id: string; version: number };
  };

  describe('POST /prompts', () => {
    it('201 {prompt} with version 1, every field in camelCase with strict types', async () => {
      const r = await call({
        method: 'POST',
        url: '/prompts',
        key: writer,
        body: {
          name: 'greeting',
          template: 'Hello {{name}} <b>&</b>',
          description: 'Greets',
          modelId: 'gpt-4o',
          parameters: { temperature: 0.2, maxTokens: 100 },
          variables: [{ name: 'name', description: 'who', defaultValue: 'world', required: false }],
          tags: ['greet', 'en'],
        },
      });
      expect(r.statusCode).toBe(201);
      const { prompt } = r.json();
      expect(Object.keys(r.json())).toEqual(['prompt']);
      expect(prompt).toMatchObject({
        name: 'greeting',
        template: 'Hello {{name}} <b>&</b>',
        description: 'Greets',
        modelId: 'gpt-4o',
        parameters: { temperature: 0.2, maxTokens: 100 },
        variables: [{ name: 'name', description: 'who', defaultValue: 'world', required: false }],
        tags: ['greet', 'en'],
        version: 1,
      });
      expect(prompt.id).toMatch(URL_SAFE);
      expect(prompt.createdAt).toMatch(RFC3339);
      expect(prompt.updatedAt).toBe(prompt.createdAt);
      expect(r.body).toContain('"version":1,'); // an integer, never 1.0
    });

    it('optional fields absent from the request read back as empty values, never null', async () => {
      const prompt = await create({ name: 'bare', template: 'Just text' });
      expect(prompt).toMatchObject({ description: '', modelId: '', parameters: {}, variables: [], tags: [] });
      expect(JSON.stringify(prompt)).not.toContain('null');
    });

    it('400 validation_error naming a missing field or a bad variable name', async () => {
      const a = await call({ method: 'POST', url: '/prompts', key: writer, body: { template: 'x' } });
      expect(a.statusCode).toBe(400);
      expect(a.json()).toMatchObject({ error: 'validation_error', error_description: expect.stringContaining('name') });
      const b = await call({
        method: 'POST',
        url: '/prompts',
        key: writer,
        body: { name: 'x', template: 'x', variables: [{ name: '1st' }] },
      });
      expect(b.statusCode).toBe(400);
      expect(b.json().error_description).toContain('variables');
    });

    it('undeclared placeholders are accepted ({"name":"x","template":"Hello {{name}}"}): reported in variables as required', async () => {
      const hello = await call({ method: 'POST', url: '/prompts', key: writer, body: { name: 'x', template: 'Hello {{name}}' } });
      expect(hello.statusCode, hello.body).toBe(201);
      expect(hello.json().prompt.variables).toEqual([{ name: 'name', required: true }]);
      const r = await create({ name: 'x2', template: 'Hi {{ first }} {{last}} {{first}} from {{city}}', variables: [{ name: 'city' }] });
      expect(r.variables).toEqual([{ name: 'city' }, { name: 'first', required: true }, { name: 'last', required: true }]);
      // Rendering without a value for one of them stays an error; with values it renders.
      const id = hello.json().prompt.id;
      const missing = await call({ method: 'POST', url: `/prompts/${id}/render`, key: reader, body: {} });
      expect(missing.statusCode).toBe(400);
      expect(missing.json().missingVariables).toEqual(['name']);
      const ok = await call({ method: 'POST', url: `/prompts/${id}/render`, key: reader, body: { variables: { name: 'Ada' } } });
      expect(ok.json().text).toBe('Hello Ada');
    });

    it('400 when a variable is declared twice', async () => {
      const r = await call({
        method: 'POST',
        url: '/prompts',
        key: writer,
        body: { name: 'x', template: 'x', variables: [{ name: 'a' }, { name: 'a' }] },
      });
      expect(r.statusCode).toBe(400);
      expect(r.json().error_description).toContain('a');
    });
  });

  describe('GET /prompts/{id}', () => {
    it('200 {prompt}; 404 not_found for an unknown id and for another tenant’s prompt', async () => {
      const p = await create({ name: 'mine', template: 't' });
      const r = await call({ method: 'GET', url: `/prompts/${p.id}`, key: reader });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual({ prompt: p });
      const unknown = await call({ method: 'GET', url: '/prompts/prm_doesnotexist', key: reader });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toMatchObject({ error: 'not_found', error_description: expect.any(String) });
      for (const method of ['GET', 'PUT', 'DELETE'] as const) {
        const foreign = await call({
          method,
          url: `/prompts/${p.id}`,
          key: stranger,
          body: method === 'PUT' ? { name: 'stolen' } : undefined,
        });
        expect(foreign.statusCode, method).toBe(404);
      }
      const render = await call({ method: 'POST', url: `/prompts/${p.id}/render`, key: stranger, body: {} });
      expect(render.statusCode).toBe(404);
      const versions = await call({ method: 'GET', url: `/prompts/${p.id}/versions`, key: stranger });
      expect(versions.statusCode).toBe(404);
    });

    it('is also served under LOAM_ATRIUMN_PREFIX', async () => {
      const p = await create({ name: 'prefixed', template: 't' });
      const r = await call({ method: 'GET', url: `/atriumn/prompts/${p.id}`, key: reader });
      expect(r.statusCode).toBe(200);
      expect(r.json().prompt.id).toBe(p.id);
      const list = await call({ method: 'POST', url: '/atriumn/prompts', key: writer, body: { name: 'via prefix', template: 'x' } });
      expect(list.statusCode).toBe(201);
    });
  });

  describe('PUT /prompts/{id}: partial update, immutable versions', () => {
    it('changes only the keys present, bumps version and updatedAt, keeps the old version readable', async () => {
      const v1 = await create({
        name: 'summarize',
        template: 'Summarize {{text}}',
        description: 'first',
        modelId: 'gpt-4o',
        parameters: { temperature: 0 },
        variables: [{ name: 'text', required: true }],
        tags: ['a'],
      });
      clock.advance(5000);
      const r = await call({ method: 'PUT', url: `/prompts/${v1.id}`, key: writer, body: { description: 'second' } });
      expect(r.statusCode).toBe(200);
      const v2 = r.json().prompt;
      expect(v2).toEqual({ ...v1, description: 'second', version: 2, updatedAt: v2.updatedAt });
      expect(Date.parse(v2.updatedAt)).toBe(Date.parse(v1.updatedAt as string) + 5000);
      expect(v2.createdAt).toBe(v1.createdAt);

      const old = await call({ method: 'GET', url: `/prompts/${v1.id}?version=1`, key: reader });
      expect(old.statusCode).toBe(200);
      expect(old.json().prompt).toEqual(v1);
      const latest = await call({ method: 'GET', url: `/prompts/${v1.id}`, key: reader });
      expect(latest.json().prompt).toEqual(v2);
      const missing = await call({ method: 'GET', url: `/prompts/${v1.id}?version=3`, key: reader });
      expect(missing.statusCode).toBe(404);
    });

    it('applies zero values that arrive (pointer-style fields): empty description, empty tags', async () => {
      const v1 = await create({ name: 'z', template: 'x', description: 'd', tags: ['t1', 't2'], modelId: 'm' });
      const r = await call({ method: 'PUT', url: `/prompts/${v1.id}`, key: writer, body: { description: '', tags: [], modelId: '' } });
      expect(r.json().prompt).toMatchObject({ description: '', tags: [], modelId: '', name: 'z', version: 2 });
      const byTag = await call({ method: 'GET', url: '/prompts?tags=t1', key: reader });
      expect(byTag.json().prompts.map((p: { id: string }) => p.id)).not.toContain(v1.id);
    });

    it('replacing the template declares its new placeholders as required variables; declared ones keep their settings', async () => {
      const v1 = await create({ name: 'checked', template: 'Hi {{who}}', variables: [{ name: 'who' }] });
      const added = await call({ method: 'PUT', url: `/prompts/${v1.id}`, key: writer, body: { template: 'Hi {{who}} and {{whom}}' } });
      expect(added.statusCode).toBe(200);
      expect(added.json().prompt.variables).toEqual([{ name: 'who' }, { name: 'whom', required: true }]);
      const ok = await call({
        method: 'PUT',
        url: `/prompts/${v1.id}`,
        key: writer,
        body: { template: 'Hi {{who}} and {{whom}}', variables: [{ name: 'who' }, { name: 'whom', defaultValue: 'you' }] },
      });
      expect(ok.json().prompt.version).toBe(3);
      expect(ok.json().prompt.variables).toEqual([{ name: 'who' }, { name: 'whom', defaultValue: 'you' }]);
    });

    it('concurrent updates each get their own version; none is lost', async () => {
      const p = await create({ name: 'contended', template: 'v1' });
      const results = await Promise.all(
        [2, 3, 4, 5, 6].map((n) => call({ method: 'PUT', url: `/prompts/${p.id}`, key: writer, body: { description: `writer ${n}` } })),
      );
      expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
      expect(results.map((r) => r.json().prompt.version).sort()).toEqual([2, 3, 4, 5, 6]);
      const versions = (await call({ method: 'GET', url: `/prompts/${p.id}/versions`, key: reader })).json().versions;
      expect(versions.map((v: { version: number }) => v.version)).toEqual([6, 5, 4, 3, 2, 1]);
    });

    it('GET /prompts/{id}/versions lists every version newest first with who and when', async () => {
      const v1 = await create({ name: 'history', template: 'v1' });
      for (const template of ['v2', 'v3']) {
        clock.advance(1000);
        await call({ method: 'PUT', url: `/prompts/${v1.id}`, key: writer, body: { template } });
      }
      const r = await call({ method: 'GET', url: `/prompts/${v1.id}/versions`, key: reader });
      expect(r.statusCode).toBe(200);
      const body = r.json();
      expect(body.versions.map((v: { version: number }) => v.version)).toEqual([3, 2, 1]);
      for (const v of body.versions) expect(v).toMatchObject({ createdBy: writerId, createdAt: expect.stringMatching(RFC3339) });
      expect(body.versions[0].labels).toEqual(['latest']);
      expect(body.labels).toEqual({ latest: 3 });
      expect(body.nextToken).toBeUndefined();
      const page1 = await call({ method: 'GET', url: `/prompts/${v1.id}/versions?maxResults=2`, key: reader });
      expect(page1.json().versions.map((v: { version: number }) => v.version)).toEqual([3, 2]);
      const page2 = await call({
        method: 'GET',
        url: `/prompts/${v1.id}/versions?maxResults=2&nextToken=${encodeURIComponent(page1.json().nextToken)}`,
        key: reader,
      });
      expect(page2.json().versions.map((v: { version: number }) => v.version)).toEqual([1]);
      expect('nextToken' in page2.json()).toBe(false);
      for (const version of [1, 2, 3]) {
        const old = await call({ method: 'GET', url: `/prompts/${v1.id}?version=${version}`, key: reader });
        expect(old.json().prompt.template).toBe(`v${version}`);
      }
    });
  });

  describe('labels', () => {
    it('movable pointers: set, read by label, move, remove; latest follows updates by itself', async () => {
      const p = await create({ name: 'labelled', template: 'one' });
      await call({ method: 'PUT', url: `/prompts/${p.id}`, key: writer, body: { template: 'two' } });
      const set = await call({ method: 'PUT', url: `/prompts/${p.id}/labels/production`, key: writer, body: { version: 1 } });
      expect(set.statusCode).toBe(200);
      expect(set.json().label).toMatchObject({ name: 'production', version: 1, updatedBy: writerId });
      await call({ method: 'PUT', url: `/prompts/${p.id}/labels/staging`, key: writer, body: { version: 2 } });
      await call({ method: 'PUT', url: `/prompts/${p.id}`, key: writer, body: { template: 'three' } });

      const get = (q: string) => call({ method: 'GET', url: `/prompts/${p.id}?${q}`, key: reader });
      expect((await get('label=production')).json().prompt).toMatchObject({ version: 1, template: 'one' });
      expect((await get('label=staging')).json().prompt).toMatchObject({ version: 2, template: 'two' });
      expect((await get('label=latest')).json().prompt).toMatchObject({ version: 3, template: 'three' });

      await call({ method: 'PUT', url: `/prompts/${p.id}/labels/production`, key: writer, body: { version: 3 } });
      expect((await get('label=production')).json().prompt.version).toBe(3);
      const versions = (await call({ method: 'GET', url: `/prompts/${p.id}/versions`, key: reader })).json();
      expect(versions.labels).toEqual({ latest: 3, production: 3, staging: 2 });
      expect(versions.versions[0].labels).toEqual(['latest', 'production']);

      const del = await call({ method: 'DELETE', url: `/prompts/${p.id}/labels/staging`, key: writer });
      expect(del.statusCode).toBe(204);
      expect(del.body).toBe('');
      expect((await get('label=staging')).statusCode).toBe(404);
      expect((await call({ method: 'DELETE', url: `/prompts/${p.id}/labels/staging`, key: writer })).statusCode).toBe(404);
    });

    it('refuses to set or remove latest, a version that does not exist, and version with label together', async () => {
      const p = await create({ name: 'strict labels', template: 'x' });
      const latest = await call({ method: 'PUT', url: `/prompts/${p.id}/labels/latest`, key: writer, body: { version: 1 } });
      expect(latest.statusCode).toBe(400);
      expect((await call({ method: 'DELETE', url: `/prompts/${p.id}/labels/latest`, key: writer })).statusCode).toBe(400);
      const future = await call({ method: 'PUT', url: `/prompts/${p.id}/labels/production`, key: writer, body: { version: 9 } });
      expect(future.statusCode).toBe(400);
      expect(future.json().error_description).toContain('9');
      const both = await call({ method: 'GET', url: `/prompts/${p.id}?version=1&label=production`, key: reader });
      expect(both.statusCode).toBe(400);
      expect(both.json().error).toBe('invalid_param');
      const badName = await call({
        method: 'PUT',
        url: `/prompts/${p.id}/labels/${encodeURIComponent('no spaces')}`,
        key: writer,
        body: { version: 1 },
      });
      expect(badName.statusCode).toBe(400);
    });
  });

  describe('POST /prompts/{id}/render', () => {
    it('substitutes values, defaults, and empty text for optional variables', async () => {
      const p = await create({
        name: 'render',
        template: 'Dear {{ title }} {{name}}, {{note}}!',
        variables: [{ name: 'name', required: true }, { name: 'title', defaultValue: 'Dr.' }, { name: 'note' }],
      });
      const r = await call({ method: 'POST', url: `/prompts/${p.id}/render`, key: reader, body: { variables: { name: 'Ada' } } });
      expect(r.statusCode).toBe(200);
      expect(r.json()).toEqual({ text: 'Dear Dr. Ada, !', version: 1 });
      const numbers = await call({
        method: 'POST',
        url: `/prompts/${p.id}/render`,
        key: reader,
        body: { variables: { name: 42, note: true } },
      });
      expect(numbers.json().text).toBe('Dear Dr. 42, true!');
    });

    it('400 listing missing required and unknown variables', async () => {
      const p = await create({
        name: 'strict',
        template: '{{a}}{{b}}',
        variables: [
          { name: 'a', required: true },
          { name: 'b', required: true },
        ],
      });
      const r = await call({
        method: 'POST',
        url: `/prompts/${p.id}/render`,
        key: reader,
        body: { variables: { b: 'x', zed: '1', ygrec: '2' } },
      });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ error: 'validation_error', missingVariables: ['a'], unknownVariables: ['zed', 'ygrec'] });
      expect(r.json().error_description).toMatch(/missing required variables: a; unknown variables: zed, ygrec/);
    });

    it('never evaluates: values and Handlebars-like syntax are inserted and kept literally', async () => {
      const p = await create({
        name: 'inert',
        template: '{{#if admin}}secret{{/if}} {{> partial}} {{x.y}} [{{v}}] {{{v}}}',
        variables: [{ name: 'v' }],
      });
      const r = await call({
        method: 'POST',
        url: `/prompts/${p.id}/render`,
        key: reader,
        body: { variables: { v: '{{v}} $& $1 {{constructor}}' } },
      });
      expect(r.json().text).toBe(
        '{{#if admin}}secret{{/if}} {{> partial}} {{x.y}} [{{v}} $& $1 {{constructor}}] {{{v}} $& $1 {{constructor}}}',
      );
    });

    it('renders a chosen version or label', async () => {
      const p = await create({ name: 'versions', template: 'one {{x}}', variables: [{ name: 'x' }] });
      await call({ method: 'PUT', url: `/prompts/${p.id}`, key: writer, body: { template: 'two {{x}}' } });
      await call({ method: 'PUT', url: `/prompts/${p.id}/labels/production`, key: writer, body: { version: 1 } });
      const render = (body: object) =>
        call({ method: 'POST', url: `/prompts/${p.id}/render`, key: reader, body: { variables: { x: '!' }, ...body } });
      expect((await render({})).json()).toEqual({ text: 'two !', version: 2 });
      expect((await render({ version: 1 })).json()).toEqual({ text: 'one !', version: 1 });
      expect((await render({ label: 'production' })).json()).toEqual({ text: 'one !', version: 1 });
      expect((await render({ label: 'nope' })).statusCode).toBe(404);
    });
  });

  describe('DELETE /prompts/{id}', () => {
    it('204 with no body; the prompt, its versions and labels are gone', async () => {
      const p = await create({ name: 'doomed', template: 'x' });
      await call({ method: 'PUT', url: `/prompts/${p.id}/labels/production`, key: writer, body: { version: 1 } });
      const r = await call({ method: 'DELETE', url: `/prompts/${p.id}`, key: writer });
      expect(r.statusCode).toBe(204);
      expect(r.body).toBe('');
      expect((await call({ method: 'GET', url: `/prompts/${p.id}`, key: reader })).statusCode).toBe(404);
      expect((await call({ method: 'GET', url: `/prompts/${p.id}?version=1`, key: reader })).statusCode).toBe(404);
      expect((await call({ method: 'DELETE', url: `/prompts/${p.id}`, key: writer })).statusCode).toBe(404);
      const rows = await t.loam.platform.database.db
        .selectFrom('prompt_versions')
        .select('version')
        .where('prompt_id', '=', p.id)
        .execute();
      expect(rows).toEqual([]);
    });
  });

  describe('GET /prompts', () => {
    let listKey: string;
    const ids: string[] = [];
    beforeAll(async () => {
      listKey = await keyFor(t, 'lists', ['ai']);
      const specs = [
        { tags: ['a', 'b'], modelId: 'm1' },
        { tags: ['a'], modelId: 'm1' },
        { tags: ['b'], modelId: 'm2' },
        { tags: ['a', 'b', 'c'], modelId: 'm2' },
        { tags: [], modelId: '' },
      ];
      for (const [i, s] of specs.entries()) ids.push((await create({ name: `list ${i}`, template: 'x', ...s }, listKey)).id);
    });
    const list = (query: string, key = listKey) => call({ method: 'GET', url: `/prompts${query ? `?${query}` : ''}`, key });

    it('200 {prompts} without nextToken on the last page; pages do not overlap', async () => {
      const all = await list('');
      expect(all.statusCode).toBe(200);
      expect(all.json().prompts.map((p: { id: string }) => p.id)).toEqual(ids);
      expect('nextToken' in all.json()).toBe(false);

      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const r = await list(`maxResults=2${token ? `&nextToken=${encodeURIComponent(token)}` : ''}`);
        expect(r.statusCode).toBe(200);
        const body = r.json();
        seen.push(...body.prompts.map((p: { id: string }) => p.id));
        token = body.nextToken;
        pages++;
        if (pages < 3) expect(typeof token).toBe('string');
      } while (token);
      expect(pages).toBe(3);
      expect(seen).toEqual(ids);
    });

    it('filters: modelId, and tags (repeated; a prompt must carry all)', async () => {
      const names = async (q: string) => (await list(q)).json().prompts.map((p: { id: string }) => ids.indexOf(p.id));
      expect(await names('modelId=m1')).toEqual([0, 1]);
      expect(await names('tags=a')).toEqual([0, 1, 3]);
      expect(await names('tags=a&tags=b')).toEqual([0, 3]);
      expect(await names('tags=a&tags=b&tags=c')).toEqual([3]);
      expect(await names('modelId=m2&tags=a')).toEqual([3]);
      expect(await names('tags=zzz')).toEqual([]);
    });

    it('maxResults is 1–100 (default 20); out of range or a forged nextToken → 400 invalid_param', async () => {
      for (const q of ['maxResults=0', 'maxResults=101', 'maxResults=-1', 'maxResults=abc', 'nextToken=forged']) {
        const r = await list(q);
        expect(r.statusCode, q).toBe(400);
        expect(r.json().error, q).toBe('invalid_param');
      }
      const defaultKey = await keyFor(t, 'many', ['ai']);
      for (let i = 0; i < 21; i++) await t.loam.services.prompts.create(seeder('many'), { name: `p${i}`, template: 'x' });
      const page = (await list('', defaultKey)).json();
      expect(page.prompts).toHaveLength(20);
      expect(typeof page.nextToken).toBe('string');
      // A token from another tenant's list is refused.
      const foreign = await list(`nextToken=${encodeURIComponent(page.nextToken)}`);
      expect(foreign.statusCode).toBe(400);
    });
  });

  describe('authentication and scopes (§2)', () => {
    it('no credential → 401; ai:read cannot write; ai:read can read and render', async () => {
      const anonymous = await call({ method: 'GET', url: '/prompts' });
      expect(anonymous.statusCode).toBe(401);
      expect(anonymous.json().error).toBe('unauthorized');
      const p = await create({ name: 'scoped', template: 'x' });
      for (const c of [
        { method: 'POST' as const, url: '/prompts', body: { name: 'x', template: 'x' } },
        { method: 'PUT' as const, url: `/prompts/${p.id}`, body: { name: 'y' } },
        { method: 'DELETE' as const, url: `/prompts/${p.id}` },
        { method: 'PUT' as const, url: `/prompts/${p.id}/labels/production`, body: { version: 1 } },
        { method: 'POST' as const, url: `/prompts/${p.id}/generate`, body: {} },
      ]) {
        const r = await call({ ...c, key: reader });
        expect(r.statusCode, c.url).toBe(403);
        expect(r.json().error).toBe('forbidden');
      }
      expect((await call({ method: 'GET', url: `/prompts/${p.id}`, key: reader })).statusCode).toBe(200);
      expect((await call({ method: 'POST', url: `/prompts/${p.id}/render`, key: reader, body: {} })).statusCode).toBe(200);
    });

    it('a tenantId naming another tenant is 403 unless the caller is a platform admin', async () => {
      const r = await call({ method: 'POST', url: '/prompts', key: writer, body: { name: 'x', template: 'x', tenantId: 'other-tenant' } });
      expect(r.statusCode).toBe(403);
      const admin = await t.app.inject({
        method: 'POST',
        url: '/prompts',
        headers: { ...t.admin, 'content-type': 'application/json' },
        payload: JSON.stringify({ name: 'for other', template: 'x', tenantId: 'other-tenant' }),
      });
      expect(admin.statusCode).toBe(201);
      const seen = await call({ method: 'GET', url: `/prompts/${admin.json().prompt.id}`, key: stranger });
      expect(seen.statusCode).toBe(200);
    });
  });

  describe('quotas', () => {
    it('a template of 100 KB is accepted; one byte more is 413 payload_too_large (create and update)', async () => {
      expect(t.loam.platform.config.promptsMaxTemplateBytes).toBe(100 * 1024);
      const exact = 'é'.repeat(50 * 1024); // 2 bytes each in UTF-8: exactly 100 KB
      const p = await create({ name: 'big', template: exact });
      const over = await call({ method: 'POST', url: '/prompts', key: writer, body: { name: 'too big', template: `${exact}x` } });
      expect(over.statusCode).toBe(413);
      expect(over.json()).toMatchObject({ error: 'payload_too_large', error_description: expect.stringContaining('102400') });
      const up = await call({ method: 'PUT', url: `/prompts/${p.id}`, key: writer, body: { template: `${exact}x` } });
      expect(up.statusCode).toBe(413);
      expect((await call({ method: 'GET', url: `/prompts/${p.id}`, key: reader })).json().prompt.version).toBe(1);
    });

    it('1,000 prompts per tenant by default; the next is 403 quota_exceeded; deleting frees a slot', async () => {
      expect(t.loam.platform.config.promptsMaxPerTenant).toBe(1000);
      const key = await keyFor(t, 'quota', ['ai']);
      const actor = seeder('quota');
      let last = '';
      for (let i = 0; i < 1000; i++) last = (await t.loam.services.prompts.create(actor, { name: `q${i}`, template: 'x' })).id;
      const r = await call({ method: 'POST', url: '/prompts', key, body: { name: 'one too many', template: 'x' } });
      expect(r.statusCode).toBe(403);
      expect(r.json()).toMatchObject({ error: 'quota_exceeded', error_description: expect.stringContaining('1000') });
      expect((await call({ method: 'DELETE', url: `/prompts/${last}`, key })).statusCode).toBe(204);
      expect((await call({ method: 'POST', url: '/prompts', key, body: { name: 'fits again', template: 'x' } })).statusCode).toBe(201);
    }, 120_000);
  });

  describe('configured quota', () => {
    it('a lower LOAM_PROMPTS_MAX_PER_TENANT holds under concurrent creates', async () => {
      const small = await createTestLoam({ dialect, config: { promptsMaxPerTenant: 3, rateLimitMultiplier: 1000 } });
      try {
        const key = await keyFor(small, 'default', ['ai']);
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            caller(small)({ method: 'POST', url: '/prompts', key, body: { name: `c${i}`, template: 'x' } }),
          ),
        );
        const codes = results.map((r) => r.statusCode).sort();
        expect(codes).toEqual([201, 201, 201, 403, 403, 403, 403, 403]);
        expect(results.find((r) => r.statusCode === 403)?.json().error).toBe('quota_exceeded');
      } finally {
        await small.close();
      }
    });
  });

  describe('events', () => {
    it('prompt.created, prompt.updated (edits and labels) and prompt.deleted, in the write’s transaction', async () => {
      const p = await create({ name: 'evented', template: 'x' });
      await call({ method: 'PUT', url: `/prompts/${p.id}`, key: writer, body: { description: 'd' } });
      await call({ method: 'PUT', url: `/prompts/${p.id}/labels/production`, key: writer, body: { version: 1 } });
      await call({ method: 'DELETE', url: `/prompts/${p.id}`, key: writer });
      const rows = await t.loam.platform.database.db
        .selectFrom('outbox_events')
        .select(['type', 'data', 'tenant_id'])
        .where('subject', '=', p.id)
        .orderBy('txid')
        .orderBy('seq')
        .execute();
      expect(rows.map((r) => r.type)).toEqual([
        'io.loam.prompt.created',
        'io.loam.prompt.updated',
        'io.loam.prompt.updated',
        'io.loam.prompt.deleted',
      ]);
      expect(rows.every((r) => r.tenant_id === 'default')).toBe(true);
      const data = rows.map((r) => (typeof r.data === 'string' ? JSON.parse(r.data) : r.data));
      expect(data[1]).toEqual({ id: p.id, version: 2, changed: ['description'] });
      expect(data[2]).toEqual({ id: p.id, version: 2, label: { name: 'production', version: 1 } });
    });
  });
});

describe('Atriumn prompts rate limits at their real values (§7)', () => {
  let t: TestLoam;
  let key: string;
  beforeAll(async () => {
    t = await createTestLoam();
    key = await keyFor(t, 'default', ['ai']);
  });
  afterAll(() => t.close());

  it('the routes and their schemas are in the OpenAPI document', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(r.statusCode).toBe(200);
    const paths = Object.keys(r.json().paths);
    for (const p of [
      '/prompts',
      '/prompts/{id}',
      '/prompts/{id}/versions',
      '/prompts/{id}/labels/{label}',
      '/prompts/{id}/render',
      '/prompts/{id}/generate',
    ])
      expect(paths).toContain(p);
  });

  it('POST /prompts: 10 per minute, then 429 rate_limited with Retry-After; each route has its own limit', async () => {
    const call = caller(t);
    let id = '';
    for (let i = 0; i < 10; i++) {
      const r = await call({ method: 'POST', url: '/prompts', key, body: { name: `r${i}`, template: 'x' } });
      expect(r.statusCode).toBe(201);
      expect(r.headers['x-ratelimit-limit']).toBe('10');
      expect(r.headers['x-ratelimit-remaining']).toBe(String(9 - i));
      expect(Number(r.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
      id = r.json().prompt.id;
    }
    const limited = await call({ method: 'POST', url: '/prompts', key, body: { name: 'r10', template: 'x' } });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toMatchObject({ error: 'rate_limited', error_description: expect.any(String) });

    const limits: [Call, string][] = [
      [{ method: 'GET', url: '/prompts' }, '20'],
      [{ method: 'GET', url: `/prompts/${id}` }, '30'],
      [{ method: 'PUT', url: `/prompts/${id}`, body: { description: 'x' } }, '10'],
      [{ method: 'GET', url: `/prompts/${id}/versions` }, '30'],
      [{ method: 'POST', url: `/prompts/${id}/render`, body: {} }, '60'],
      [{ method: 'DELETE', url: `/prompts/${id}` }, '10'],
    ];
    for (const [c, limit] of limits) {
      const r = await call({ ...c, key });
      expect(r.statusCode, c.url).toBeLessThan(300);
      expect(r.headers['x-ratelimit-limit'], `${c.method} ${c.url}`).toBe(limit);
    }
  });
});
