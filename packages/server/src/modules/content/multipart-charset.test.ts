import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartHeaderScanner } from '../../platform/http/multipart.js';
import { type TestLoam, createTestLoam } from '../../test/harness.js';
import { createCollection } from '../knowledge/test/helpers.js';
import { decodeText } from './detect.js';
import { drain, keyFor } from './test/helpers.js';

/** Short French in ISO-8859-1: too little text for detection, which reads it as another code page. */
const TEXT = 'Ça va? Où êtes-vous?';
const LATIN1 = Buffer.from(TEXT, 'latin1');
const BOUNDARY = '----loam-charset';

/** A multipart body with `fields`, then the Latin-1 file part declared with `contentType`. */
function form(contentType: string, fields: Record<string, string> = {}): Buffer {
  const field = (name: string, value: string) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  return Buffer.concat([
    Buffer.from(
      Object.entries(fields)
        .map(([k, v]) => field(k, v))
        .join(''),
    ),
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="salut.txt"\r\nContent-Type: ${contentType}\r\n\r\n`,
    ),
    LATIN1,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

/** The body as a stream of `size`-byte chunks: headers and delimiters split across chunks. */
const inChunks = (body: Buffer, size: number) =>
  Readable.from(Array.from({ length: Math.ceil(body.length / size) }, (_, i) => body.subarray(i * size, (i + 1) * size)));

describe('multipart: a file part keeps the charset it declares', () => {
  it('the fixture is one that detection gets wrong', () => {
    expect(decodeText(LATIN1)).not.toBe(TEXT);
    expect(decodeText(LATIN1, 'text/plain; charset=iso-8859-1')).toBe(TEXT);
  });

  it('reads each file part’s declared Content-Type, whatever the chunking', () => {
    const body = Buffer.concat([form('text/plain; charset=ISO-8859-1', { note: 'x' }), Buffer.from('epilogue')]);
    for (const size of [1, 3, 7, 64, body.length]) {
      const scanner = new PartHeaderScanner(BOUNDARY);
      for (let i = 0; i < body.length; i += size) scanner.push(body.subarray(i, i + size));
      expect(scanner.take('file')).toBe('text/plain; charset=ISO-8859-1');
      expect(scanner.take('file')).toBeUndefined(); // once each
      expect(scanner.take('note')).toBeUndefined(); // a field, not a file
    }
  });

  describe('over HTTP', () => {
    let t: TestLoam;
    let a: { authorization: string };
    beforeAll(async () => {
      t = await createTestLoam({ config: { rateLimitMultiplier: 1000 } });
      a = await keyFor(t, 'acme', ['ingest', 'knowledge']);
    });
    afterAll(() => t.close());

    const headers = () => ({ ...a, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` });
    const ingestFile = async (payload: Buffer | Readable) => {
      const res = await t.app.inject({ method: 'POST', url: '/ingest/file', payload, headers: headers() });
      expect(res.statusCode).toBe(202);
      await drain(t);
      const id = res.json().id;
      const item = (await t.app.inject({ method: 'GET', url: `/content/${id}`, headers: a })).json();
      return { item, text: (await t.app.inject({ method: 'GET', url: `/content/${id}/text`, headers: a })).json().content };
    };

    it('POST /ingest/file decodes the part with its declared charset (also when the body arrives in small chunks)', async () => {
      const declared = await ingestFile(form('text/plain; charset=iso-8859-1'));
      expect(declared.text).toBe(TEXT);
      expect(declared.item).toMatchObject({ status: 'COMPLETED', contentType: 'text/plain; charset=iso-8859-1' });
      expect((await ingestFile(inChunks(form('text/plain; charset="iso-8859-1"', { userId: 'u1' }), 5))).text).toBe(TEXT);
      // Without a declaration, detection decides (and gets this short text wrong).
      expect((await ingestFile(form('text/plain'))).text).not.toBe(TEXT);
    });

    it('POST /api/v1/documents (knowledge) decodes the part with its declared charset', async () => {
      const c = await createCollection(t, a);
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/documents',
        payload: form('text/plain; charset=iso-8859-1', { collection_id: c.id }),
        headers: headers(),
      });
      expect(res.statusCode).toBe(202);
      await drain(t);
      const hits = await t.app.inject({ method: 'GET', url: `/api/v1/search?q=vous&collection_ids=${c.id}`, headers: a });
      expect(hits.json().data.hits[0].text).toContain(TEXT);
    });
  });
});
