import { createHmac } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { SIGNATURE_HEADER } from './pipeline.js';
import { ARTICLE_SENTENCE, makeDocx, makeHtml, makePdf } from './test/fixtures.js';
import { adminContext, drain, keyFor } from './test/helpers.js';

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/** A fixture web server: pages to ingest, failures, redirects, and a callback receiver. */
function fixtureServer() {
  const callbacks: { body: string; signature: string }[] = [];
  let flaky = 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/article.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(makeHtml('Harbour Lights'));
    } else if (url.pathname === '/flaky') {
      flaky++;
      if (flaky === 1) {
        res.writeHead(503);
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('Recovered after a transient failure.');
      }
    } else if (url.pathname === '/to-private') {
      res.writeHead(302, { location: 'http://10.1.2.3/internal' });
      res.end();
    } else if (url.pathname === '/gone') {
      res.writeHead(404);
      res.end();
    } else if (url.pathname === '/huge') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('z'.repeat(50_000));
    } else if (url.pathname === '/image') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    } else if (url.pathname === '/callback') {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        callbacks.push({ body, signature: String(req.headers[SIGNATURE_HEADER] ?? '') });
        res.end('thanks');
      });
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return { server, callbacks };
}

describeEachDialect('content pipeline end to end', (dialect) => {
  let t: TestLoam;
  let a: { authorization: string };
  let base: string;
  let loamUrl: string;
  const fixture = fixtureServer();
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    t = await createTestLoam({
      dialect,
      clock,
      config: { rateLimitMultiplier: 1000, storageMaxFileBytes: 200_000, fetchMaxBytes: 20_000 },
    });
    a = await keyFor(t, 'acme', ['ingest', 'storage']);
    await new Promise<void>((r) => fixture.server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(fixture.server.address() as AddressInfo).port}`;
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    loamUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    // Pre-signed URLs point at the listening socket; the fixture server is on loopback.
    t.loam.platform.config.publicUrl = loamUrl;
    t.loam.services.content.fetchPolicy.allowLoopback = true;
  });
  afterAll(async () => {
    await t.close();
    await new Promise<void>((r) => fixture.server.close(() => r()));
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${loamUrl}${path}`, {
      method,
      headers: { ...a, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const item = async (id: string) => (await api('GET', `/content/${id}`)).body;
  const text = async (id: string) => (await api('GET', `/content/${id}/text`)).body?.content as string;

  /** Asks for an upload URL and PUTs the bytes with plain fetch, as a client would. */
  const uploadFile = async (filename: string, contentType: string, bytes: Buffer) => {
    const created = await api('POST', '/ingest/file', { filename, contentType });
    expect(created.status).toBe(200);
    const put = await fetch(created.body.uploadUrl, {
      method: 'PUT',
      body: new Uint8Array(bytes),
      headers: { 'content-type': contentType },
    });
    expect(put.status).toBe(200);
    expect(await put.text()).toBe('');
    return created.body.id as string;
  };

  it('a PDF uploaded through its pre-signed URL: text of each page, page count, title', async () => {
    const id = await uploadFile(
      'report.pdf',
      'application/pdf',
      makePdf(['Revenue grew by twelve percent.', 'Costs fell in the third quarter.'], 'Annual Report'),
    );
    expect((await item(id)).status).toBe('PENDING');
    await drain(t);
    const done = await item(id);
    expect(done).toMatchObject({ status: 'COMPLETED', detectedType: 'pdf', pageCount: 2, title: 'Annual Report', wordCount: 11 });
    expect(await text(id)).toBe('Revenue grew by twelve percent.\n\nCosts fell in the third quarter.');
  });

  it('a DOCX uploaded through its pre-signed URL', async () => {
    const id = await uploadFile('minutes.docx', DOCX, await makeDocx(['Board minutes', 'The board approved the new harbour budget.']));
    await drain(t);
    expect(await item(id)).toMatchObject({ status: 'COMPLETED', detectedType: 'docx', title: 'Board minutes', wordCount: 9 });
    expect(await text(id)).toBe('Board minutes\n\nThe board approved the new harbour budget.');
  });

  it('an HTML page uploaded through its pre-signed URL: title and article, no navigation', async () => {
    const id = await uploadFile('page.html', 'text/html', Buffer.from(makeHtml('Harbour Lights')));
    await drain(t);
    expect(await item(id)).toMatchObject({ status: 'COMPLETED', detectedType: 'html', title: 'Harbour Lights' });
    const extracted = await text(id);
    expect(extracted).toContain(ARTICLE_SENTENCE);
    expect(extracted).not.toContain('Shop now');
    expect(extracted).not.toContain('All rights reserved');
    expect((await t.loam.services.content.searchText(adminContext('acme'), 'lighthouse keeper', 5)).map((h) => h.id)).toContain(id);
  });

  it('an upload over the file limit through a real socket: the client reads 413 file_too_large', async () => {
    const created = await api('POST', '/ingest/file', { filename: 'big.txt', contentType: 'text/plain' });
    const put = await fetch(created.body.uploadUrl, {
      method: 'PUT',
      body: Buffer.alloc(300_000, 97),
      headers: { 'content-type': 'text/plain' },
    });
    expect(put.status).toBe(413);
    expect((await put.json()).error).toBe('file_too_large');
    expect((await item(created.body.id)).status).toBe('UPLOADING');
  });

  it('an unsupported file ends in ERROR with a readable reason, and content.failed', async () => {
    const id = await uploadFile('photo.png', 'image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]));
    await drain(t);
    expect(await item(id)).toMatchObject({ status: 'ERROR', error: expect.stringMatching(/^Unsupported file type: a PNG image/) });
    const events = await t.loam.platform.database.db.selectFrom('outbox_events').select('type').where('subject', '=', id).execute();
    expect(events.map((e) => e.type)).toContain('io.loam.content.failed');
    expect((await api('GET', `/content/${id}/text`)).status).toBe(409);
  });

  const attemptsOf = async (id: string) => {
    const job = await t.loam.platform.database.db
      .selectFrom('jobs')
      .select(['attempts', 'status'])
      .where('key', '=', `content:${id}`)
      .executeTakeFirstOrThrow();
    return Number(job.attempts);
  };

  it('an empty or tag-free HTML file completes on its first attempt, with a warning or its text', async () => {
    const empty = await uploadFile('empty.html', 'text/html', Buffer.from('  \n'));
    const plain = await uploadFile('plain.html', 'text/html', Buffer.from('No tags here, only words.'));
    await drain(t);
    expect(await item(empty)).toMatchObject({ status: 'COMPLETED', warning: expect.stringMatching(/no text/), wordCount: 0 });
    expect(await attemptsOf(empty)).toBe(1);
    expect(await item(plain)).toMatchObject({ status: 'COMPLETED', wordCount: 5 });
    expect((await item(plain)).warning).toBeUndefined();
  });

  it('permanent failures (corrupt, password-protected, unsupported) are not retried', async () => {
    const id = await uploadFile('broken.pdf', 'application/pdf', Buffer.from('%PDF-1.4\ngarbage'));
    await drain(t);
    expect(await item(id)).toMatchObject({ status: 'ERROR', error: 'The PDF is corrupt or not a PDF (its structure cannot be read)' });
    expect(await attemptsOf(id)).toBe(1);
  });

  it('a document past its extraction deadline ends in ERROR saying so, on its first attempt', async () => {
    const config = t.loam.platform.config;
    const saved = config.contentExtractTimeoutMs;
    config.contentExtractTimeoutMs = 100;
    await t.loam.services.content.pipeline.close(); // the next document starts a worker with the new limit
    try {
      const id = await uploadFile('page.html', 'text/html', Buffer.from(makeHtml('Slow page')));
      await drain(t);
      expect(await item(id)).toMatchObject({ status: 'ERROR', error: expect.stringMatching(/longer than 100 ms/) });
      expect(await attemptsOf(id)).toBe(1);
    } finally {
      config.contentExtractTimeoutMs = saved;
      await t.loam.services.content.pipeline.close();
    }
  });

  it('a URL is fetched, its original stored, its text extracted', async () => {
    const res = await api('POST', '/ingest/url', { url: `${base}/article.html` });
    expect(res.status).toBe(202);
    await drain(t);
    const done = await item(res.body.id);
    expect(done).toMatchObject({
      status: 'COMPLETED',
      title: 'Harbour Lights',
      detectedType: 'html',
      contentType: 'text/html; charset=utf-8',
    });
    expect(done.s3Key).toBe(`acme/${res.body.id}/article.html`);
    expect(await text(res.body.id)).toContain(ARTICLE_SENTENCE);
    const download = await api('GET', `/content/${res.body.id}/download-url`);
    const original = await fetch(download.body.downloadUrl);
    expect(await original.text()).toContain('<nav>');
  });

  it('transient fetch errors are retried with backoff (PENDING meanwhile), then succeed', async () => {
    const res = await api('POST', '/ingest/url', { url: `${base}/flaky` });
    await drain(t);
    expect((await item(res.body.id)).status).toBe('PENDING');
    const job = await t.loam.platform.database.db
      .selectFrom('jobs')
      .selectAll()
      .where('key', '=', `content:${res.body.id}`)
      .executeTakeFirstOrThrow();
    expect(job.last_error).toMatch(/503/);
    expect(Number(job.run_at)).toBeGreaterThan(clock.now());
    clock.advance(60_000);
    await drain(t);
    expect(await item(res.body.id)).toMatchObject({ status: 'COMPLETED' });
    expect(await text(res.body.id)).toBe('Recovered after a transient failure.');
  });

  it('permanent fetch failures (404, oversize, unsupported type, redirect to private) → ERROR with the reason', async () => {
    const cases: [string, RegExp][] = [
      [`${base}/gone`, /answered 404/],
      [`${base}/huge`, /larger than 20000 bytes/],
      [`${base}/image`, /Unsupported content type image\/png/],
      [`${base}/to-private`, /Refusing to connect to 10\.1\.2\.3: it resolves to a private address/],
    ];
    for (const [url, reason] of cases) {
      const res = await api('POST', '/ingest/url', { url });
      await drain(t);
      const done = await item(res.body.id);
      expect(done.status, url).toBe('ERROR');
      expect(done.error, url).toMatch(reason);
    }
  });

  it('SSRF: a host name resolving to 127.0.0.1 is refused when loopback is not allowed', async () => {
    t.loam.services.content.fetchPolicy.allowLoopback = false;
    try {
      const port = new URL(base).port;
      const res = await api('POST', '/ingest/url', { url: `http://localhost:${port}/article.html` });
      expect(res.status).toBe(202);
      await drain(t);
      const done = await item(res.body.id);
      expect(done.status).toBe('ERROR');
      expect(done.error).toMatch(/loopback/);
    } finally {
      t.loam.services.content.fetchPolicy.allowLoopback = true;
    }
  });

  it('a callbackUrl receives a signed POST on COMPLETED and on ERROR', async () => {
    const secret = (await api('GET', '/api/v1/content/callback-secret')).body.data.secret as string;
    const ok = await api('POST', '/ingest/text', { content: 'call me back', callbackUrl: `${base}/callback` });
    const bad = await api('POST', '/ingest/url', { url: `${base}/gone`, callbackUrl: `${base}/callback` });
    await drain(t);
    await drain(t);
    expect(fixture.callbacks).toHaveLength(2);
    const bodies = fixture.callbacks.map((c) => JSON.parse(c.body));
    expect(bodies).toContainEqual(
      expect.objectContaining({ type: 'content.processed', id: ok.body.id, status: 'COMPLETED', tenantId: 'acme' }),
    );
    expect(bodies).toContainEqual(
      expect.objectContaining({ type: 'content.failed', id: bad.body.id, status: 'ERROR', error: expect.stringMatching(/404/) }),
    );
    for (const c of fixture.callbacks) {
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(c.signature);
      expect(m).not.toBeNull();
      const expected = createHmac('sha256', secret).update(`${m?.[1]}.${c.body}`).digest('hex');
      expect(m?.[2]).toBe(expected);
    }
    const refused = await api('POST', '/ingest/text', { content: 'x', callbackUrl: 'http://169.254.169.254/hook' });
    expect(refused.status).toBe(400);
  });

  it('a worker killed mid-job leaves the item to be retried, not stuck in PROCESSING', async () => {
    const res = await api('POST', '/ingest/text', { content: 'survives a crash' });
    const id = res.body.id as string;
    // A worker claims the job (the claim marks the item PROCESSING) and dies before finishing.
    expect((await item(id)).status).toBe('PENDING');
    const [claimed] = await t.loam.platform.jobs.claim(1);
    expect(claimed.payload).toMatchObject({ itemId: id });
    expect((await item(id)).status).toBe('PROCESSING');
    // While its lease holds nobody else takes it.
    expect(await drain(t)).toBe(0);
    clock.advance(t.loam.platform.config.jobLeaseMs + 1);
    await drain(t);
    expect(await item(id)).toMatchObject({ status: 'COMPLETED', wordCount: 3 });
    const job = await t.loam.platform.database.db.selectFrom('jobs').selectAll().where('id', '=', claimed.id).executeTakeFirstOrThrow();
    expect(job.status).toBe('succeeded');
    expect(Number(job.attempts)).toBe(2);
  });

  it('an item whose worker dies on every attempt ends in ERROR, not PROCESSING forever', async () => {
    const res = await api('POST', '/ingest/text', { content: 'crashes every time' });
    const id = res.body.id as string;
    const jobs = t.loam.platform.jobs;
    const lease = t.loam.platform.config.jobLeaseMs;
    for (let attempt = 1; attempt <= 5; attempt++) {
      const [claimed] = await jobs.claim(1);
      expect(claimed?.payload).toMatchObject({ itemId: id });
      expect((await item(id)).status).toBe('PROCESSING');
      clock.advance(lease + 1);
    }
    expect(await jobs.claim(1)).toEqual([]); // the queue gives up: the job is dead
    expect((await item(id)).status).toBe('PROCESSING');
    clock.advance(2 * lease);
    expect(await t.loam.services.content.pipeline.failAbandoned()).toBe(1);
    expect(await item(id)).toMatchObject({ status: 'ERROR', error: expect.stringMatching(/interrupted/) });
  });
});

describe('content pipeline: workers in the background', () => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ config: { rateLimitMultiplier: 1000 } });
    t.loam.startBackground({ workers: 2, relay: false });
  });
  afterAll(() => t.close());

  it('inline text reaches COMPLETED without anyone draining', async () => {
    const k = await keyFor(t, 'bg', ['ingest']);
    const res = await t.app.inject({
      method: 'POST',
      url: '/ingest/text',
      headers: k,
      payload: { content: 'background processing works' },
    });
    const id = res.json().id;
    const { eventually } = await import('../../test/harness.js');
    await eventually(async () => (await t.app.inject({ method: 'GET', url: `/content/${id}`, headers: k })).json().status === 'COMPLETED');
  });
});
