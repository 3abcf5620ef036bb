import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { adminContext, drain, keyFor, pathOf } from './test/helpers.js';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

describeEachDialect('ingest service (§6) over HTTP', (dialect) => {
  let t: TestLoam;
  let a: { authorization: string };
  let b: { authorization: string };

  beforeAll(async () => {
    t = await createTestLoam({
      dialect,
      config: { rateLimitMultiplier: 1000, contentMaxTextBytes: 2000, storageMaxFileBytes: 4000, atriumnPrefix: '/atriumn' },
    });
    a = await keyFor(t, 'acme', ['ingest:read', 'ingest:write']);
    b = await keyFor(t, 'globex', ['ingest']);
  });
  afterAll(() => t.close());

  const post = (url: string, payload: unknown, headers = a) => t.app.inject({ method: 'POST', url, payload: payload as object, headers });
  const get = (url: string, headers = a) => t.app.inject({ method: 'GET', url, headers });
  const ingestText = async (content: string, extra: Record<string, unknown> = {}, headers = a) => {
    const res = await post('/ingest/text', { content, ...extra }, headers);
    expect(res.statusCode).toBe(202);
    return res.json();
  };

  it('POST /ingest/text with content: IngestResponse {id, status, tenantId, userId, timestamp, size}', async () => {
    const res = await post('/ingest/text', { content: 'Hello, world.\n', userId: 'u1', metadata: { source: 'unit' } });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toEqual({
      id: expect.stringMatching(/^cnt_[0-9A-Z]{26}$/),
      status: 'PENDING',
      tenantId: 'acme',
      userId: 'u1',
      timestamp: expect.stringMatching(RFC3339),
      size: 14,
    });
    expect(Number.isInteger(body.size)).toBe(true);
    await drain(t);
    const item = (await get(`/content/${body.id}`)).json();
    expect(item).toMatchObject({
      id: body.id,
      status: 'COMPLETED',
      sourceType: 'TEXT',
      tenantId: 'acme',
      userId: 'u1',
      size: 14,
      metadata: { source: 'unit' },
      wordCount: 2,
    });
    expect((await get(`/content/${body.id}/text`)).json()).toEqual({ content: 'Hello, world.\n' });
  });

  it('the full ContentItem shape: strict types, RFC 3339 timestamps, string metadata', async () => {
    const { id } = await ingestText('The committee approved the budget for the new library building next spring.', {
      metadata: { n: '1' },
    });
    await drain(t);
    const item = (await get(`/content/${id}`)).json();
    for (const k of [
      'id',
      'tenantId',
      'userId',
      'sourceType',
      'sourceUri',
      's3Key',
      's3Bucket',
      'status',
      'contentType',
      'createdAt',
      'updatedAt',
    ])
      expect(typeof item[k]).toBe('string');
    expect(Number.isInteger(item.size)).toBe(true);
    expect(item.createdAt).toMatch(RFC3339);
    expect(item.updatedAt).toMatch(RFC3339);
    expect(item.s3Key).toMatch(new RegExp(`^acme/${id}/content\\.txt$`));
    expect(item.language).toBe('en');
    expect(item.wordCount).toBe(12);
    for (const v of Object.values(item.metadata)) expect(typeof v).toBe('string');
    expect(item).not.toHaveProperty('error');
  });

  it('POST /ingest/text without content: upload request ({} is valid), text/plain by default', async () => {
    const res = await post('/ingest/text', {});
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      id: expect.any(String),
      status: 'UPLOADING',
      uploadUrl: expect.stringContaining('/blobs/acme/'),
      tenantId: 'acme',
      userId: '',
      timestamp: expect.stringMatching(RFC3339),
    });
    const item = (await get(`/content/${body.id}`)).json();
    expect(item).toMatchObject({ status: 'UPLOADING', sourceType: 'TEXT', contentType: 'text/plain' });

    const put = await t.app.inject({
      method: 'PUT',
      url: pathOf(body.uploadUrl),
      payload: 'Uploaded plain text body.',
      headers: { 'content-type': 'text/plain' },
    });
    expect(put.statusCode).toBe(200);
    expect(put.body).toBe('');
    // The PUT itself moved it on.
    expect((await get(`/content/${body.id}`)).json().status).toBe('PENDING');
    await drain(t);
    expect((await get(`/content/${body.id}`)).json()).toMatchObject({ status: 'COMPLETED', size: 25, wordCount: 4 });
    expect((await get(`/content/${body.id}/text`)).json().content).toBe('Uploaded plain text body.');
  });

  it('text over 1 MB (here: the configured 2000 bytes) → 413 payload_too_large; empty → 400', async () => {
    const res = await post('/ingest/text', { content: 'é'.repeat(1001) });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: 'payload_too_large', error_description: expect.stringContaining('2000') });
    expect((await post('/ingest/text', { content: '   ' })).json().error).toBe('validation_error');
  });

  it('POST /ingest/url: 202 {id, status:"PENDING"}; invalid, private or long URLs → 400', async () => {
    const res = await post('/ingest/url', {
      url: 'https://example.com/article',
      sourceSubType: 'blog',
      userNotes: 'read later',
      metadata: { k: 'v' },
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ id: expect.any(String), status: 'PENDING' });
    const item = (await get(`/content/${res.json().id}`)).json();
    expect(item).toMatchObject({
      sourceType: 'URL',
      sourceUri: 'https://example.com/article',
      sourceSubType: 'blog',
      userNotes: 'read later',
    });
    for (const url of [
      'ftp://example.com/x',
      'not a url',
      'http://127.0.0.1/admin',
      'http://[::1]/',
      'http://169.254.169.254/latest',
      'http://2130706433/',
    ]) {
      const bad = await post('/ingest/url', { url });
      expect(bad.statusCode, url).toBe(400);
      expect(bad.json().error).toBe('validation_error');
    }
    const long = await post('/ingest/url', { url: `https://example.com/${'a'.repeat(2030)}` });
    expect(long.statusCode).toBe(400);
    expect(long.json().error_description).toContain('2048');
    expect((await post('/ingest/url', {})).json()).toMatchObject({
      error: 'validation_error',
      error_description: expect.stringContaining('url'),
    });
  });

  it('POST /ingest/file multipart: stored, PENDING, processed; fields tenantId and userId honoured', async () => {
    const boundary = '----loamtest';
    const form = [
      `--${boundary}\r\nContent-Disposition: form-data; name="tenantId"\r\n\r\nacme\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="userId"\r\n\r\nuploader\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="notes.md"\r\nContent-Type: text/markdown\r\n\r\n# Field notes\n\nBirds seen today: **three** herons.\r\n`,
      `--${boundary}--\r\n`,
    ].join('');
    const res = await t.app.inject({
      method: 'POST',
      url: '/ingest/file',
      payload: form,
      headers: { ...a, 'content-type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toMatchObject({ status: 'PENDING', tenantId: 'acme', userId: 'uploader', size: 50 });
    await drain(t);
    const item = (await get(`/content/${body.id}`)).json();
    expect(item).toMatchObject({
      sourceType: 'FILE',
      status: 'COMPLETED',
      title: 'Field notes',
      detectedType: 'markdown',
      contentType: 'text/markdown',
      sourceUri: 'notes.md',
    });
    expect((await get(`/content/${body.id}/text`)).json().content).toBe('Field notes\n\nBirds seen today: three herons.');
  });

  it('multipart: file over the limit → 413 file_too_large; no file part → 400; foreign tenant → 403', async () => {
    const boundary = 'b0undary';
    const big = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n${'x'.repeat(5000)}\r\n--${boundary}--\r\n`;
    const headers = { ...a, 'content-type': `multipart/form-data; boundary=${boundary}` };
    const res = await t.app.inject({ method: 'POST', url: '/ingest/file', payload: big, headers });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toBe('file_too_large');
    const none = `--${boundary}\r\nContent-Disposition: form-data; name="userId"\r\n\r\nx\r\n--${boundary}--\r\n`;
    const noFile = await t.app.inject({ method: 'POST', url: '/ingest/file', payload: none, headers });
    expect(noFile.statusCode).toBe(400);
    expect(noFile.json().error_description).toContain('file');
    const foreign = `--${boundary}\r\nContent-Disposition: form-data; name="tenantId"\r\n\r\nglobex\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhi\r\n--${boundary}--\r\n`;
    expect((await t.app.inject({ method: 'POST', url: '/ingest/file', payload: foreign, headers })).statusCode).toBe(403);
  });

  it('POST /ingest/file JSON: upload request {id, status:"UPLOADING", uploadUrl, …}; missing fields → 400', async () => {
    const res = await post('/ingest/file', {
      filename: '../../report.csv',
      contentType: 'text/csv',
      userId: 'u2',
      metadata: { dept: 'ops' },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      status: 'UPLOADING',
      uploadUrl: expect.any(String),
      tenantId: 'acme',
      userId: 'u2',
      timestamp: expect.stringMatching(RFC3339),
    });
    const put = await t.app.inject({
      method: 'PUT',
      url: pathOf(body.uploadUrl),
      payload: 'city,people\nOslo,700000\n',
      headers: { 'content-type': 'text/csv' },
    });
    expect(put.statusCode).toBe(200);
    await drain(t);
    const item = (await get(`/content/${body.id}`)).json();
    expect(item).toMatchObject({ status: 'COMPLETED', sourceType: 'FILE', detectedType: 'csv', metadata: { dept: 'ops' } });
    expect(item.s3Key).toMatch(/^acme\/cnt_[0-9A-Z]{26}\/report\.csv$/);
    const missing = await post('/ingest/file', { filename: 'x.pdf' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ error: 'validation_error', error_description: expect.stringContaining('contentType') });
  });

  it('upload PUT: chunked transfer encoding is accepted', async () => {
    const { uploadUrl, id } = (await post('/ingest/text', { contentType: 'text/plain' })).json();
    const { Readable } = await import('node:stream');
    const put = await t.app.inject({
      method: 'PUT',
      url: pathOf(uploadUrl),
      payload: Readable.from(['chunk one ', 'chunk two']),
      headers: { 'content-type': 'text/plain' },
    });
    expect(put.statusCode).toBe(200);
    await drain(t);
    expect((await get(`/content/${id}/text`)).json().content).toBe('chunk one chunk two');
  });

  it('GET /content: {items, nextToken}; nextToken pages and is "" on the last page', async () => {
    const c = await keyFor(t, 'pager', ['ingest']);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await ingestText(`item number ${i}`, {}, c)).id);
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const res = await get(`/content?limit=2${token ? `&nextToken=${encodeURIComponent(token)}` : ''}`, c);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(typeof body.nextToken).toBe('string');
      seen.push(...body.items.map((i: { id: string }) => i.id));
      token = body.nextToken;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
    const all = (await get('/content', c)).json();
    expect(all.items).toHaveLength(5);
    expect(all.nextToken).toBe('');
    const empty = (await get('/content', await keyFor(t, 'empty-co', ['ingest']))).json();
    expect(empty).toEqual({ items: [], nextToken: '' });
  });

  it('GET /content: limit 0 or negative → 400 invalid_param; a forged nextToken → 400', async () => {
    for (const limit of ['0', '-1', '101']) {
      const res = await get(`/content?limit=${limit}`);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toBe('invalid_param');
    }
    expect((await get('/content?nextToken=forged.token')).json().error).toBe('invalid_param');
  });

  it('GET /content: status and sourceType filters are case-insensitive; processed = COMPLETED', async () => {
    const c = await keyFor(t, 'filters', ['ingest']);
    await ingestText('first text', {}, c);
    await drain(t);
    await post('/ingest/url', { url: 'https://example.com/x' }, c);
    await post('/ingest/text', {}, c); // UPLOADING
    const ids = async (q: string) => (await get(`/content?${q}`, c)).json().items.map((i: { status: string }) => i.status);
    expect(await ids('status=completed')).toEqual(['COMPLETED']);
    expect(await ids('status=Processed')).toEqual(['COMPLETED']);
    expect(await ids('status=PENDING')).toEqual(['PENDING']);
    expect(await ids('status=uploading')).toEqual(['UPLOADING']);
    expect(await ids('sourceType=url')).toEqual(['PENDING']);
    expect((await ids('sourceType=Text')).sort()).toEqual(['COMPLETED', 'UPLOADING']);
    expect(await ids('status=processed&sourceType=text')).toEqual(['COMPLETED']);
    const bad = await get('/content?status=done', c);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toBe('invalid_param');
  });

  it('GET /content/{id}: unknown → 404 not_found; another tenant’s item → 404', async () => {
    const res = await get('/content/cnt_nope');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: 'not_found', error_description: expect.any(String) });
    const { id } = await ingestText('globex private', {}, b);
    for (const [method, url] of [
      ['GET', `/content/${id}`],
      ['PATCH', `/content/${id}`],
      ['DELETE', `/content/${id}`],
      ['GET', `/content/${id}/text`],
      ['PUT', `/content/${id}/text`],
      ['GET', `/content/${id}/download-url`],
    ] as const) {
      const r = await t.app.inject({
        method,
        url,
        headers: a,
        ...(method === 'PATCH' || method === 'PUT' ? { payload: { content: 'x', metadata: {} } } : {}),
      });
      expect(r.statusCode, `${method} ${url}`).toBe(404);
    }
    expect((await get(`/content/${id}`, b)).statusCode).toBe(200);
  });

  it('PATCH /content/{id}: sourceUri replaced, metadata merged, "" removes a key', async () => {
    const { id } = await ingestText('patch me', { metadata: { keep: 'yes', drop: 'soon', change: 'old' } });
    const res = await t.app.inject({
      method: 'PATCH',
      url: `/content/${id}`,
      headers: a,
      payload: { sourceUri: 'https://example.com/src', metadata: { drop: '', change: 'new', add: 'added' } },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, sourceUri: 'https://example.com/src', metadata: { keep: 'yes', change: 'new', add: 'added' } });
    expect(res.json().metadata).not.toHaveProperty('drop');
    const only = await t.app.inject({ method: 'PATCH', url: `/content/${id}`, headers: a, payload: { metadata: { keep: '' } } });
    expect(only.json().metadata).toEqual({ change: 'new', add: 'added' });
    expect(only.json().sourceUri).toBe('https://example.com/src');
    const notString = await t.app.inject({
      method: 'PATCH',
      url: `/content/${id}`,
      headers: a,
      payload: { metadata: { x: { nested: true } } },
    });
    expect(notString.statusCode).toBe(400);
  });

  it('DELETE /content/{id}: 204 empty; the blob, the text and the search entry go too', async () => {
    const { id } = await ingestText('zebra crossing manifesto');
    await drain(t);
    const item = (await get(`/content/${id}`)).json();
    expect(await t.loam.services.content.searchText(adminContext('acme'), 'zebra manifesto', 5)).toHaveLength(1);
    const del = await t.app.inject({ method: 'DELETE', url: `/content/${id}`, headers: a });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expect((await get(`/content/${id}`)).statusCode).toBe(404);
    expect(await t.loam.platform.blob.head(item.s3Key)).toBeUndefined();
    expect(await t.loam.services.content.searchText(adminContext('acme'), 'zebra manifesto', 5)).toEqual([]);
    expect((await t.app.inject({ method: 'DELETE', url: `/content/${id}`, headers: a })).statusCode).toBe(404);
  });

  it('GET /content/{id}/download-url: {downloadUrl} that serves the stored bytes', async () => {
    const { id } = await ingestText('downloadable words');
    await drain(t);
    const res = await get(`/content/${id}/download-url`);
    expect(res.statusCode).toBe(200);
    const file = await t.app.inject({ method: 'GET', url: pathOf(res.json().downloadUrl) });
    expect(file.body).toBe('downloadable words');
    const { id: waiting } = (await post('/ingest/text', {})).json();
    expect((await get(`/content/${waiting}/download-url`)).statusCode).toBe(404);
  });

  it('inline text: its file is written on the first download, by either route, and follows a replaced text', async () => {
    const { id } = await ingestText('first words of the note');
    await drain(t);
    const { s3Key } = (await get(`/content/${id}`)).json();
    expect(await t.loam.platform.blob.head(s3Key)).toBeUndefined(); // processed without a file
    // The Atriumn storage route, with the key the item shows.
    const storage = await keyFor(t, 'acme', ['storage:read']);
    const url = await post('/generate-download-url', { s3Key }, storage);
    expect(url.statusCode).toBe(200);
    const first = await t.app.inject({ method: 'GET', url: pathOf(url.json().downloadUrl) });
    expect(first.body).toBe('first words of the note');
    expect(first.headers['content-type']).toMatch(/^text\/plain/);
    expect((await t.loam.platform.blob.head(s3Key))?.size).toBe(Buffer.byteLength('first words of the note'));
    // A replaced text drops the old file; the next download serves the new text.
    const put = await t.app.inject({
      method: 'PUT',
      url: `/content/${id}/text`,
      payload: { content: 'second, longer words of the note' },
      headers: a,
    });
    expect(put.statusCode).toBe(204);
    expect(await t.loam.platform.blob.head(s3Key)).toBeUndefined();
    const again = await get(`/content/${id}/download-url`);
    expect((await t.app.inject({ method: 'GET', url: pathOf(again.json().downloadUrl) })).body).toBe('second, longer words of the note');
    // Deleted with the item.
    expect((await t.app.inject({ method: 'DELETE', url: `/content/${id}`, headers: a })).statusCode).toBe(204);
    expect(await t.loam.platform.blob.head(s3Key)).toBeUndefined();
    expect((await post('/generate-download-url', { s3Key }, storage)).statusCode).toBe(404);
  });

  it('GET /content/{id}/text: raw text of TEXT items at once; other items only once COMPLETED', async () => {
    const raw = 'Line one\r\n\r\n\r\n  indented\ttab';
    const { id } = await ingestText(raw);
    expect((await get(`/content/${id}/text`)).json().content).toBe(raw);
    await drain(t);
    expect((await get(`/content/${id}/text`)).json().content).toBe(raw);
    const { id: upload } = (await post('/ingest/file', { filename: 'x.txt', contentType: 'text/plain' })).json();
    const early = await get(`/content/${upload}/text`);
    expect(early.statusCode).toBe(409);
    expect(early.json().error).toBe('conflict');
  });

  it('PUT /content/{id}/text: 204, re-processed and re-indexed; non-TEXT → 400 bad_request', async () => {
    const { id } = await ingestText('original walrus text');
    await drain(t);
    const res = await t.app.inject({
      method: 'PUT',
      url: `/content/${id}/text`,
      headers: a,
      payload: { content: 'replacement narwhal words here' },
    });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect((await get(`/content/${id}/text`)).json().content).toBe('replacement narwhal words here');
    await drain(t);
    expect((await get(`/content/${id}`)).json()).toMatchObject({ status: 'COMPLETED', wordCount: 4, size: 30 });
    expect((await t.loam.services.content.searchText(adminContext('acme'), 'narwhal', 5)).map((h) => h.id)).toEqual([id]);
    expect(await t.loam.services.content.searchText(adminContext('acme'), 'walrus', 5)).toEqual([]);

    const { id: url } = (await post('/ingest/url', { url: 'https://example.com/y' })).json();
    const bad = await t.app.inject({ method: 'PUT', url: `/content/${url}/text`, headers: a, payload: { content: 'x' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'bad_request', error_description: 'Content item is not of type TEXT' });
    const big = await t.app.inject({ method: 'PUT', url: `/content/${id}/text`, headers: a, payload: { content: 'x'.repeat(2001) } });
    expect(big.statusCode).toBe(413);
  });

  it('POST /ingest/batch: ≤ 100 items, one result per item, failures do not stop the rest', async () => {
    const res = await post('/ingest/batch', {
      items: [
        { content: 'batch text one' },
        { type: 'url', url: 'https://example.com/batch' },
        { type: 'url', url: 'http://10.0.0.1/' },
        { content: 'y'.repeat(2001) },
        { type: 'text' },
      ],
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.succeeded).toBe(2);
    expect(body.failed).toBe(3);
    expect(body.results[0]).toMatchObject({ index: 0, id: expect.any(String), status: 'PENDING' });
    expect(body.results[1]).toMatchObject({ index: 1, id: expect.any(String), status: 'PENDING' });
    expect(body.results[2]).toMatchObject({ index: 2, error: 'validation_error' });
    expect(body.results[3]).toMatchObject({ index: 3, error: 'payload_too_large' });
    expect(body.results[4]).toMatchObject({ index: 4, error: 'validation_error' });
    const tooMany = await post('/ingest/batch', { items: Array.from({ length: 101 }, (_, i) => ({ content: `t${i}` })) });
    expect(tooMany.statusCode).toBe(400);
    expect((await post('/ingest/batch', { items: [] })).statusCode).toBe(400);
  });

  it('GET /api/v1/content/stats: counts per status and source type, in the envelope', async () => {
    const c = await keyFor(t, 'stats-co', ['ingest']);
    const { id: one } = await ingestText('one', {}, c);
    await ingestText('two', {}, c);
    await drain(t);
    await post('/ingest/url', { url: 'https://example.com/s' }, c);
    const res = await get('/api/v1/content/stats', c);
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({
      total: 3,
      by_status: { UPLOADING: 0, PENDING: 1, PROCESSING: 0, COMPLETED: 2, ERROR: 0 },
      by_source_type: { TEXT: 2, URL: 0 + 1, FILE: 0 },
      stored_bytes: 6,
    });
    // Deleting an item frees its stored bytes.
    await t.app.inject({ method: 'DELETE', url: `/content/${one}`, headers: c });
    const after = (await get('/api/v1/content/stats', c)).json().data;
    expect(after).toMatchObject({ total: 2, stored_bytes: 3 });
  });

  it('full-text search: tenant-scoped, every word must match, best first', async () => {
    const c = await keyFor(t, 'search-co', ['ingest']);
    const { id: first } = await ingestText('Photosynthesis converts light energy into chemical energy in plants.', {}, c);
    const { id: second } = await ingestText('Energy markets react to the price of oil.', {}, c);
    await ingestText('Photosynthesis is private to globex.', {}, b);
    await drain(t);
    const svc = t.loam.services.content;
    expect((await svc.searchText(adminContext('search-co'), 'photosynthesis', 10)).map((h) => h.id)).toEqual([first]);
    expect((await svc.searchText(adminContext('search-co'), 'energy', 10)).map((h) => h.id).sort()).toEqual([first, second].sort());
    expect((await svc.searchText(adminContext('search-co'), 'chemical energy', 10)).map((h) => h.id)).toEqual([first]);
    expect(await svc.searchText(adminContext('search-co'), '"); drop table content_items; --', 10)).toEqual([]);
    const hit = (await svc.searchText(adminContext('search-co'), 'chemical', 10))[0];
    expect(hit.snippet).toContain('chemical');
    const http = await get('/api/v1/content/search?q=photosynthesis', c);
    expect(http.json().data.map((h: { id: string }) => h.id)).toEqual([first]);
  });

  it('scopes: reads need ingest:read, writes ingest:write; no credential → 401', async () => {
    const readOnly = await keyFor(t, 'acme', ['ingest:read']);
    expect((await post('/ingest/text', { content: 'x' }, readOnly)).statusCode).toBe(403);
    expect((await get('/content', readOnly)).statusCode).toBe(200);
    const storageOnly = await keyFor(t, 'acme', ['storage']);
    expect((await get('/content', storageOnly)).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/content' })).statusCode).toBe(401);
    expect(
      (await t.app.inject({ method: 'GET', url: '/content', headers: { 'x-api-key': (a.authorization as string).slice(7) } })).statusCode,
    ).toBe(200);
  });

  it('a tenantId naming another tenant → 403', async () => {
    expect((await post('/ingest/text', { content: 'x', tenantId: 'globex' })).statusCode).toBe(403);
    expect((await get('/content?tenantId=globex')).statusCode).toBe(403);
  });

  it('is served under the Atriumn prefix as well', async () => {
    const res = await post('/atriumn/ingest/text', { content: 'prefixed' });
    expect(res.statusCode).toBe(202);
    expect((await get(`/atriumn/content/${res.json().id}`)).statusCode).toBe(200);
  });

  it('emits content.created, updated, processed and deleted CloudEvents', async () => {
    const { id } = await ingestText('eventful text');
    await drain(t);
    await t.app.inject({ method: 'PATCH', url: `/content/${id}`, headers: a, payload: { metadata: { a: 'b' } } });
    await t.app.inject({ method: 'DELETE', url: `/content/${id}`, headers: a });
    const rows = await t.loam.platform.database.db
      .selectFrom('outbox_events')
      .select(['type', 'tenant_id'])
      .where('subject', '=', id)
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => r.type)).toEqual([
      'io.loam.content.created',
      'io.loam.content.processed',
      'io.loam.content.updated',
      'io.loam.content.deleted',
    ]);
    expect(rows.every((r) => r.tenant_id === 'acme')).toBe(true);
  });
});

describe('content quotas and rate limits', () => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ config: { contentMaxItems: 3 } });
  });
  afterAll(() => t.close());

  it('10,000 items per tenant (here 3) → 403 quota_exceeded', async () => {
    const k = await keyFor(t, 'small', ['ingest']);
    for (let i = 0; i < 3; i++)
      expect((await t.app.inject({ method: 'POST', url: '/ingest/text', headers: k, payload: { content: `n${i}` } })).statusCode).toBe(202);
    const res = await t.app.inject({ method: 'POST', url: '/ingest/text', headers: k, payload: { content: 'one too many' } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: 'quota_exceeded', error_description: expect.stringContaining('3') });
    const url = await t.app.inject({ method: 'POST', url: '/ingest/url', headers: k, payload: { url: 'https://example.com/' } });
    expect(url.json().error).toBe('quota_exceeded');
  });

  it('inline text counts toward the storage quota at once: text that would pass it → 403 quota_exceeded', async () => {
    const q = await createTestLoam({ config: { storageTenantQuotaBytes: 10 } });
    try {
      const k = await keyFor(q, 'tight', ['ingest']);
      const ingest = (content: string) => q.app.inject({ method: 'POST', url: '/ingest/text', headers: k, payload: { content } });
      const first = await ingest('123456');
      expect(first.statusCode).toBe(202);
      const over = await ingest('12345');
      expect(over.statusCode).toBe(403);
      expect(over.json()).toMatchObject({ error: 'quota_exceeded', error_description: expect.stringContaining('quota') });
      expect((await ingest('1234')).statusCode).toBe(202); // exactly the quota
      // Replacing a text moves the usage by the difference.
      const { id } = first.json();
      const put = (content: string) => q.app.inject({ method: 'PUT', url: `/content/${id}/text`, headers: k, payload: { content } });
      expect((await put('1234567')).statusCode).toBe(403);
      expect((await put('12')).statusCode).toBe(204);
      expect(await q.loam.services.storage.usage('tight')).toBe(6);
    } finally {
      await q.close();
    }
  });

  it('POST /ingest/url: 10/min per principal, then 429', async () => {
    const k = await keyFor(t, 'limited', ['ingest']);
    const codes: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await t.app.inject({ method: 'POST', url: '/ingest/url', headers: k, payload: { url: 'not a url' } });
      codes.push(res.statusCode);
    }
    expect(codes.slice(0, 10).every((c) => c === 400)).toBe(true);
    expect(codes[10]).toBe(429);
  });
});
