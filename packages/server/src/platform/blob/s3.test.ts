import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyFor } from '../../modules/content/test/helpers.js';
import { makePdf } from '../../modules/content/test/fixtures.js';
import { type TestLoam, createTestLoam } from '../../test/harness.js';
import { BlobTooLargeError } from './index.js';
import { S3BlobStore } from './s3.js';

/**
 * The S3 adapter against a real S3-protocol server (s3rver) started by the test: SigV4 requests
 * from the SDK and pre-signed URLs used with plain fetch.
 */
// biome-ignore lint/suspicious/noExplicitAny: s3rver ships no types
const S3rver: any = createRequire(import.meta.url)('s3rver');

let server: { run(): Promise<AddressInfo>; close(): Promise<void> };
let endpoint: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'loam-s3-'));
  server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: 'loam-test' }] });
  const address = await server.run();
  endpoint = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const options = () => ({
  bucket: 'loam-test',
  region: 'us-east-1',
  endpoint,
  forcePathStyle: true,
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
});

describe('S3BlobStore against s3rver', () => {
  it('put, head, read, delete', async () => {
    const store = new S3BlobStore(options());
    const info = await store.put('acme/x/hello.txt', Buffer.from('hello s3'), 'text/plain');
    expect(info.size).toBe(8);
    expect(await store.head('acme/x/hello.txt')).toMatchObject({ size: 8, contentType: 'text/plain' });
    expect((await store.read('acme/x/hello.txt'))?.toString()).toBe('hello s3');
    await store.delete('acme/x/hello.txt');
    expect(await store.head('acme/x/hello.txt')).toBeUndefined();
    expect(await store.read('acme/x/hello.txt')).toBeUndefined();
    await store.delete('acme/x/hello.txt'); // absent is fine
    await store.close();
  });

  it('put of a stream stops at maxBytes', async () => {
    const store = new S3BlobStore(options());
    await expect(
      store.put('acme/x/big.bin', Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), 'application/octet-stream', { maxBytes: 1000 }),
    ).rejects.toBeInstanceOf(BlobTooLargeError);
    expect(await store.head('acme/x/big.bin')).toBeUndefined();
    await store.close();
  });

  it('pre-signed PUT and GET with plain fetch', async () => {
    const store = new S3BlobStore(options());
    const putUrl = await store.presignPut('acme/y/doc.txt', 'text/plain', { expiresInSec: 900 });
    expect(putUrl).toContain('X-Amz-Signature=');
    expect(putUrl).toContain('X-Amz-Expires=900');
    const put = await fetch(putUrl, { method: 'PUT', body: 'uploaded by a client', headers: { 'content-type': 'text/plain' } });
    expect(put.status).toBe(200);
    const getUrl = await store.presignGet('acme/y/doc.txt', { expiresInSec: 900 });
    const get = await fetch(getUrl);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('uploaded by a client');
    // SigV4 query signing with the configured credentials (s3rver does not check query signatures itself).
    expect(new URL(getUrl).searchParams.get('X-Amz-Credential')).toMatch(/^S3RVER\/\d{8}\/us-east-1\/s3\/aws4_request$/);
    await store.close();
  });
});

describe('Loam with LOAM_BLOB_STORE=s3', () => {
  let t: TestLoam;
  let k: { authorization: string };
  beforeAll(async () => {
    t = await createTestLoam({
      config: {
        rateLimitMultiplier: 100,
        blobStore: 's3',
        s3Endpoint: endpoint,
        s3Bucket: 'loam-test',
        s3ForcePathStyle: true,
        s3AccessKeyId: 'S3RVER',
        s3SecretAccessKey: 'S3RVER',
      },
    });
    k = await keyFor(t, 'acme', ['storage', 'ingest']);
  });
  afterAll(() => t.close());

  it('generate-upload-url / generate-download-url hand out S3 URLs that work with plain fetch', async () => {
    const up = await t.app.inject({
      method: 'POST',
      url: '/generate-upload-url',
      headers: k,
      payload: { filename: 'a.txt', contentType: 'text/plain' },
    });
    expect(up.statusCode).toBe(200);
    const { uploadUrl, s3Key } = up.json();
    expect(uploadUrl.startsWith(`${endpoint}/loam-test/acme/`)).toBe(true);
    expect((await fetch(uploadUrl, { method: 'PUT', body: 'via s3', headers: { 'content-type': 'text/plain' } })).status).toBe(200);
    const down = await t.app.inject({ method: 'POST', url: '/generate-download-url', headers: k, payload: { s3Key } });
    expect(down.statusCode).toBe(200);
    expect(await (await fetch(down.json().downloadUrl)).text()).toBe('via s3');
    const missing = await t.app.inject({ method: 'POST', url: '/generate-download-url', headers: k, payload: { s3Key: 'acme/none/x' } });
    expect(missing.statusCode).toBe(404);
  });

  it('an upload to S3 is completed by POST /content/{id}/complete (or noticed on GET), then processed', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/ingest/file',
      headers: k,
      payload: { filename: 'r.pdf', contentType: 'application/pdf' },
    });
    const { id, uploadUrl } = created.json();
    const early = await t.app.inject({ method: 'POST', url: `/content/${id}/complete`, headers: k });
    expect(early.statusCode).toBe(409);
    const pdf = makePdf(['Stored in an S3 bucket.'], 'S3 Doc');
    expect(
      (await fetch(uploadUrl, { method: 'PUT', body: new Uint8Array(pdf), headers: { 'content-type': 'application/pdf' } })).status,
    ).toBe(200);
    const done = await t.app.inject({ method: 'POST', url: `/content/${id}/complete`, headers: k });
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ status: 'PENDING', size: pdf.length, s3Bucket: 'loam-test' });
    await t.loam.platform.jobs.drain();
    const text = await t.app.inject({ method: 'GET', url: `/content/${id}/text`, headers: k });
    expect(text.json().content).toBe('Stored in an S3 bucket.');

    // Inline text: its object is written to the bucket on the first download.
    const inline = (
      await t.app.inject({ method: 'POST', url: '/ingest/text', headers: k, payload: { content: 'kept in the database' } })
    ).json();
    await t.loam.platform.jobs.drain();
    const link = await t.app.inject({ method: 'GET', url: `/content/${inline.id}/download-url`, headers: k });
    expect(link.statusCode).toBe(200);
    expect(link.json().downloadUrl.startsWith(`${endpoint}/loam-test/acme/`)).toBe(true);
    expect(await (await fetch(link.json().downloadUrl)).text()).toBe('kept in the database');

    const second = (await t.app.inject({ method: 'POST', url: '/ingest/text', headers: k, payload: {} })).json();
    await fetch(second.uploadUrl, { method: 'PUT', body: 'noticed on read', headers: { 'content-type': 'text/plain' } });
    const read = await t.app.inject({ method: 'GET', url: `/content/${second.id}`, headers: k });
    expect(read.json().status).toBe('PENDING');
  });
});
