import type { Multipart } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';

const CRLF2 = Buffer.from('\r\n\r\n');
/** A part's header block longer than this is not looked at (its declared charset is then ignored). */
const MAX_HEADER_BYTES = 16 * 1024;

interface DeclaredPart {
  name: string;
  contentType: string;
}

/**
 * Reads the header block of every part of a multipart body as its bytes go by, to keep what
 * busboy drops for file parts: the parameters of the part's `Content-Type` (its `charset`).
 */
export class PartHeaderScanner {
  private readonly delimiter: Buffer;
  /** Unread bytes: the tail that may hold a split delimiter, or the header block being read. */
  private pending: Buffer;
  private inHeader = false;
  private readonly parts: DeclaredPart[] = [];

  constructor(boundary: string) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
    this.pending = Buffer.from('\r\n'); // the first delimiter has no line break before it
  }

  push(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      if (this.inHeader) {
        const end = buf.indexOf(CRLF2);
        if (end < 0) {
          if (buf.length > MAX_HEADER_BYTES)
            this.inHeader = false; // give up on this part
          else {
            this.pending = buf;
            return;
          }
          continue;
        }
        this.record(buf.subarray(0, end).toString('latin1'));
        this.inHeader = false;
        buf = buf.subarray(end + CRLF2.length);
        continue;
      }
      const at = buf.indexOf(this.delimiter);
      if (at < 0) {
        // Keep only what may be the start of a delimiter split across chunks.
        this.pending = Buffer.from(buf.subarray(Math.max(0, buf.length - this.delimiter.length + 1)));
        return;
      }
      this.inHeader = true;
      buf = buf.subarray(at + this.delimiter.length);
    }
  }

  /** The `Content-Type` header as declared for the next file part named `name` (once each). */
  take(name: string): string | undefined {
    const i = this.parts.findIndex((p) => p.name === name);
    return i < 0 ? undefined : this.parts.splice(i, 1)[0].contentType;
  }

  private record(block: string): void {
    let disposition = '';
    let contentType = '';
    for (const line of block.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const key = line.slice(0, colon).trim().toLowerCase();
      if (key === 'content-disposition') disposition = line.slice(colon + 1);
      else if (key === 'content-type') contentType = line.slice(colon + 1).trim();
    }
    const name = /(?:^|;)\s*name\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(disposition);
    if (!name || !/(?:^|;)\s*filename\*?\s*=/i.test(disposition) || !contentType) return;
    this.parts.push({ name: name[1] ?? name[2], contentType });
  }
}

/**
 * `request.parts()` of @fastify/multipart whose file parts carry their `Content-Type` as the
 * client declared it, parameters included (`text/plain; charset=iso-8859-1`): busboy keeps only
 * the media type for files, and a declared charset must win over detection.
 */
export async function* multipartParts(request: FastifyRequest): AsyncGenerator<Multipart> {
  const parts = request.parts();
  // Starting the iterator pipes the request into busboy; the scanner listens after it, so it
  // never takes a byte from busboy, and has seen a part's header by the time busboy's part
  // reaches this loop (both see each chunk in the same 'data' event).
  const first = parts.next();
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(String(request.headers['content-type']));
  const scanner = boundary ? new PartHeaderScanner(boundary[1] ?? boundary[2]) : undefined;
  const onData = (chunk: Buffer) => scanner?.push(chunk);
  request.raw.on('data', onData);
  try {
    for (let r = await first; !r.done; r = await parts.next()) {
      const part = r.value;
      if (part.type === 'file') {
        const declared = scanner?.take(part.fieldname);
        if (declared && /;\s*charset\s*=/i.test(declared) && declared.toLowerCase().startsWith(part.mimetype)) part.mimetype = declared;
      }
      yield part;
    }
  } finally {
    request.raw.off('data', onData);
    await parts.return?.();
  }
}
