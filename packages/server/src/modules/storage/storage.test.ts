import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyFor, pathOf } from '../content/test/helpers.js';
import { parseRange } from './routes.js';
import { sanitizeFilename } from './service.js';

describeEachDialect('storage service (§5) and local pre-signed URLs', (dialect) => {
  let t: TestLoam;
  let a: { authorization: string };
  let b: { authorization: string };
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    t = await createTestLoam({
      dialect,
      clock,
      config: { rateLimitMultiplier: 100, storageMaxFileBytes: 1000, storageTenantQuotaBytes: 2500, atriumnPrefix: '/atriumn' },
    });
    a = await keyFor(t, 'acme', ['storage:read', 'storage:write']);
    b = await keyFor(t, 'globex', ['storage']);
  });
  afterAll(() => t.close());

  const upload = (headers: Record<string, string>, body: Record<string, unknown>, prefix = '') =>
    t.app.inject({ method: 'POST', url: `${prefix}/generate-upload-url`, headers, payload: body });
  const put = (url: string, payload: string | Buffer | Readable, contentType = 'text/plain', extra: Record<string, string> = {}) =>
    t.app.inject({ method: 'PUT', url: pathOf(url), payload, headers: { 'content-type': contentType, ...extra } });

  it('POST /generate-upload-url: 200 {uploadUrl, s3Key, httpMethod:"PUT"} with a tenant-prefixed key', async () => {
    const res = await upload(a, { filename: 'report.pdf', contentType: 'application/pdf' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.httpMethod).toBe('PUT');
    expect(body.s3Key).toMatch(/^acme\/obj_[0-9A-Z]{26}\/report\.pdf$/);
    expect(body.uploadUrl).toContain(`/blobs/${body.s3Key}?expires=`);
    expect(body.uploadUrl).toContain('signature=');
  });

  it('sanitizes the filename: no traversal, no control characters, no directories', async () => {
    for (const [given, expected] of [
      ['../../etc/passwd', 'passwd'],
      ['..\\..\\windows\\system.ini', 'system.ini'],
      ['a\u0000b\u001fc.txt', 'abc.txt'],
      ['..', 'file'],
      ['my report (final).pdf', 'my_report_final_.pdf'],
    ]) {
      const res = await upload(a, { filename: given, contentType: 'text/plain' });
      expect(res.statusCode).toBe(200);
      const key: string = res.json().s3Key;
      expect(key.split('/')).toHaveLength(3);
      expect(key.split('/')[2]).toBe(expected);
    }
    expect(sanitizeFilename(`${'x'.repeat(300)}.docx`)).toMatch(/^x{195}\.docx$/);
  });

  it('missing filename / contentType / s3Key → 400 validation_error naming the field', async () => {
    const noName = await upload(a, { contentType: 'text/plain' });
    expect(noName.statusCode).toBe(400);
    expect(noName.json()).toMatchObject({ error: 'validation_error', error_description: expect.stringContaining('filename') });
    const noType = await upload(a, { filename: 'x.txt' });
    expect(noType.json()).toMatchObject({ error: 'validation_error', error_description: expect.stringContaining('contentType') });
    const badType = await upload(a, { filename: 'x.txt', contentType: 'not a type' });
    expect(badType.json()).toMatchObject({ error: 'validation_error', error_description: expect.stringContaining('contentType') });
    const noKey = await t.app.inject({ method: 'POST', url: '/generate-download-url', headers: a, payload: {} });
    expect(noKey.statusCode).toBe(400);
    expect(noKey.json()).toMatchObject({ error: 'validation_error', error_description: expect.stringContaining('s3Key') });
  });

  it('requires storage scopes: none → 401, another service → 403; bare `storage` grants both', async () => {
    expect((await upload({}, { filename: 'x', contentType: 'text/plain' })).statusCode).toBe(401);
    const ingestOnly = await keyFor(t, 'acme', ['ingest']);
    const res = await upload(ingestOnly, { filename: 'x', contentType: 'text/plain' });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toBe('forbidden');
    expect((await upload(b, { filename: 'x', contentType: 'text/plain' })).statusCode).toBe(200);
    const readOnly = await keyFor(t, 'acme', ['storage:read']);
    expect((await upload(readOnly, { filename: 'x', contentType: 'text/plain' })).statusCode).toBe(403);
  });

  it('a tenantId naming another tenant → 403; the own tenant is fine', async () => {
    expect((await upload(a, { filename: 'x', contentType: 'text/plain', tenantId: 'globex' })).statusCode).toBe(403);
    expect((await upload(a, { filename: 'x', contentType: 'text/plain', tenantId: 'acme' })).statusCode).toBe(200);
  });

  it('PUT to the upload URL: 200 empty, then the download URL serves it with type, ETag, length and ranges', async () => {
    const up = (await upload(a, { filename: 'hello.txt', contentType: 'text/plain' })).json();
    const res = await put(up.uploadUrl, 'hello world', 'text/plain');
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    const down = await t.app.inject({ method: 'POST', url: '/generate-download-url', headers: a, payload: { s3Key: up.s3Key } });
    expect(down.statusCode).toBe(200);
    expect(down.json().httpMethod).toBe('GET');
    const get = await t.app.inject({ method: 'GET', url: pathOf(down.json().downloadUrl) });
    expect(get.statusCode).toBe(200);
    expect(get.body).toBe('hello world');
    expect(get.headers['content-type']).toBe('text/plain');
    expect(get.headers['content-length']).toBe('11');
    expect(get.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
    const range = await t.app.inject({ method: 'GET', url: pathOf(down.json().downloadUrl), headers: { range: 'bytes=6-' } });
    expect(range.statusCode).toBe(206);
    expect(range.body).toBe('world');
    expect(range.headers['content-range']).toBe('bytes 6-10/11');
    const suffix = await t.app.inject({ method: 'GET', url: pathOf(down.json().downloadUrl), headers: { range: 'bytes=-5' } });
    expect(suffix.body).toBe('world');
    const bad = await t.app.inject({ method: 'GET', url: pathOf(down.json().downloadUrl), headers: { range: 'bytes=50-60' } });
    expect(bad.statusCode).toBe(416);
    const cached = await t.app.inject({
      method: 'GET',
      url: pathOf(down.json().downloadUrl),
      headers: { 'if-none-match': get.headers.etag as string },
    });
    expect(cached.statusCode).toBe(304);
  });

  it('PUT accepts a chunked body (no Content-Length)', async () => {
    const up = (await upload(a, { filename: 'chunks.bin', contentType: 'application/octet-stream' })).json();
    const res = await put(up.uploadUrl, Readable.from([Buffer.from('part1-'), Buffer.from('part2')]), 'application/octet-stream');
    expect(res.statusCode).toBe(200);
    const info = await t.loam.platform.blob.head(up.s3Key);
    expect(info?.size).toBe(11);
  });

  it('PUT over the file limit: 413 file_too_large and nothing kept', async () => {
    const up = (await upload(a, { filename: 'big.txt', contentType: 'text/plain' })).json();
    const res = await put(up.uploadUrl, Readable.from([Buffer.alloc(600, 97), Buffer.alloc(600, 98)]), 'text/plain');
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toBe('file_too_large');
    expect(await t.loam.platform.blob.head(up.s3Key)).toBeUndefined();
    const down = await t.app.inject({ method: 'POST', url: '/generate-download-url', headers: a, payload: { s3Key: up.s3Key } });
    expect(down.statusCode).toBe(404);
  });

  it('the signature binds method, key, expiry and content type', async () => {
    const up = (await upload(a, { filename: 'bound.txt', contentType: 'text/plain' })).json();
    const wrongType = await put(up.uploadUrl, 'x', 'application/json');
    expect(wrongType.statusCode).toBe(403);
    expect(wrongType.json().error).toBe('forbidden');
    const otherKey = await put(up.uploadUrl.replace('bound.txt', 'other.txt'), 'x');
    expect(otherKey.statusCode).toBe(403);
    const tampered = await put(
      up.uploadUrl.replace(/expires=(\d+)/, (_m: string, e: string) => `expires=${Number(e) + 1000}`),
      'x',
    );
    expect(tampered.statusCode).toBe(403);
    const asGet = await t.app.inject({ method: 'GET', url: pathOf(up.uploadUrl) });
    expect(asGet.statusCode).toBe(403);
    const noSig = await t.app.inject({ method: 'GET', url: `/blobs/${up.s3Key}` });
    expect(noSig.statusCode).toBe(403);
    expect((await put(up.uploadUrl, 'ok', 'text/plain; charset=utf-8')).statusCode).toBe(200);
  });

  it('pre-signed URLs expire after 15 minutes by default', async () => {
    const up = (await upload(a, { filename: 'late.txt', contentType: 'text/plain' })).json();
    expect(up.expiresIn).toBe(900);
    clock.advance(14 * 60 * 1000);
    expect((await put(up.uploadUrl, 'in time')).statusCode).toBe(200);
    clock.advance(2 * 60 * 1000);
    const late = await put(up.uploadUrl, 'too late');
    expect(late.statusCode).toBe(403);
    expect(late.json().error_description).toMatch(/expired/);
  });

  it('download URL: unknown key → 404, another tenant’s key → 403', async () => {
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/generate-download-url',
      headers: a,
      payload: { s3Key: 'acme/nope/x.txt' },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toBe('not_found');
    const up = (await upload(b, { filename: 'secret.txt', contentType: 'text/plain' })).json();
    await put(up.uploadUrl, 'globex data');
    const foreign = await t.app.inject({ method: 'POST', url: '/generate-download-url', headers: a, payload: { s3Key: up.s3Key } });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().error).toBe('forbidden');
    const traversal = await t.app.inject({
      method: 'POST',
      url: '/generate-download-url',
      headers: a,
      payload: { s3Key: 'acme/../globex/x' },
    });
    expect(traversal.statusCode).toBe(404);
  });

  it('per-tenant quota: 403 quota_exceeded once the tenant stores its quota', async () => {
    const q = await keyFor(t, 'quota-co', ['storage']);
    for (let i = 0; i < 3; i++) {
      const up = (await upload(q, { filename: `f${i}.txt`, contentType: 'text/plain' })).json();
      const res = await put(up.uploadUrl, Buffer.alloc(900, 120));
      if (i < 2) expect(res.statusCode).toBe(200);
      else {
        // 1800 stored of 2500: only 700 bytes remain for this upload.
        expect(res.statusCode).toBe(403);
        expect(res.json().error).toBe('quota_exceeded');
      }
    }
    const up = (await upload(q, { filename: 'small.txt', contentType: 'text/plain' })).json();
    expect((await put(up.uploadUrl, Buffer.alloc(700, 120))).statusCode).toBe(200);
    const full = await upload(q, { filename: 'more.txt', contentType: 'text/plain' });
    expect(full.statusCode).toBe(403);
    expect(full.json()).toMatchObject({ error: 'quota_exceeded', error_description: expect.stringContaining('quota') });
  });

  it('a deferred object replaced while its file is written is written again with the new content', async () => {
    const storage = t.loam.services.storage;
    const key = 'acme/obj_deferred_race/notes.txt';
    const versions = ['first', 'second', 'second']; // replaced between the read and the check
    storage.onDeferred(async (k) =>
      k === key && versions.length ? { body: Buffer.from(versions.shift() as string), contentType: 'text/plain' } : undefined,
    );
    const info = await storage.ensure(key);
    expect(info?.size).toBe(6);
    expect((await t.loam.platform.blob.read(key))?.toString()).toBe('second');
    // A source that keeps changing: a 409 to ask again, and no stale file left behind.
    const moving = 'acme/obj_deferred_moving/notes.txt';
    let n = 0;
    storage.onDeferred(async (k) => (k === moving ? { body: Buffer.from(`v${n++}`), contentType: 'text/plain' } : undefined));
    await expect(storage.ensure(moving)).rejects.toMatchObject({ status: 409 });
    expect(await t.loam.platform.blob.head(moving)).toBeUndefined();
  });

  it('is served under the Atriumn prefix too', async () => {
    const res = await upload(a, { filename: 'p.txt', contentType: 'text/plain' }, '/atriumn');
    expect(res.statusCode).toBe(200);
  });
});

describe('storage rate limits (§7, real limits)', () => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam();
  });
  afterAll(() => t.close());

  it('POST /generate-upload-url: 30/min per principal, then 429 rate_limited with Retry-After', async () => {
    const k = await keyFor(t, 'rl', ['storage']);
    for (let i = 0; i < 30; i++) {
      const ok = await t.app.inject({
        method: 'POST',
        url: '/generate-upload-url',
        headers: k,
        payload: { filename: 'a', contentType: 'text/plain' },
      });
      expect(ok.statusCode).toBe(200);
      if (i === 0) expect(ok.headers['x-ratelimit-limit']).toBe('30');
    }
    const res = await t.app.inject({
      method: 'POST',
      url: '/generate-upload-url',
      headers: k,
      payload: { filename: 'a', contentType: 'text/plain' },
    });
    expect(res.statusCode).toBe(429);
    expect(res.json().error).toBe('rate_limited');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('Range parsing', () => {
  it('handles the single-range forms', () => {
    expect(parseRange(undefined, 10)).toBeNull();
    expect(parseRange('bytes=0-4', 10)).toEqual({ start: 0, end: 4 });
    expect(parseRange('bytes=5-', 10)).toEqual({ start: 5, end: 9 });
    expect(parseRange('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange('bytes=0-100', 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=10-', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,3-4', 10)).toBeNull();
  });
});
