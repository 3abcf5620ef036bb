import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Clock } from '../crypto/index.js';
import { hmacSha256, safeEqual } from '../crypto/index.js';
import {
  type BlobInfo,
  type BlobStore,
  BlobTooLargeError,
  type PresignOptions,
  checkBlobPrefix,
  isValidBlobKey,
  mediaTypeOf,
} from './index.js';

/** The path prefix under which Loam serves local pre-signed URLs. */
export const BLOB_ROUTE_PREFIX = '/blobs/';

const SYNC_WRITE_MAX = 256 * 1024;

export interface LocalBlobOptions {
  /** `<dataDir>/blobs`. */
  root: string;
  /** Key for URL signatures (`signer.derive('blob')`). */
  signingKey: Buffer;
  /** Base URL clients reach Loam at; read on every presign so it can follow the listening port. */
  baseUrl: () => string;
  clock: Clock;
}

export type SignedMethod = 'GET' | 'PUT';

/**
 * Objects as files under `<root>/objects/<key>`, their content type, size and ETag as JSON under
 * `<root>/meta/<key>.json`. Writes go to a temp file first and are renamed into place, so a
 * reader never sees half an object and a failed upload leaves nothing behind.
 */
export class LocalBlobStore implements BlobStore {
  readonly kind = 'local' as const;
  readonly bucket = 'local';
  private readonly objects: string;
  private readonly meta: string;
  private readonly tmp: string;
  /** The temp directory is created once (it is never removed while the store runs). */
  private tmpReady: Promise<unknown> | undefined;

  constructor(private readonly opts: LocalBlobOptions) {
    this.objects = join(opts.root, 'objects');
    this.meta = join(opts.root, 'meta');
    this.tmp = join(opts.root, 'tmp');
  }

  private pathOf(base: string, key: string, suffix = ''): string {
    if (!isValidBlobKey(key)) throw new Error(`invalid blob key: ${JSON.stringify(key)}`);
    const p = resolve(base, key) + suffix;
    if (!p.startsWith(base + sep)) throw new Error('blob key escapes the store');
    return p;
  }

  /** The payload a signature covers: method, key, expiry and (for PUT) the bound media type. */
  private signature(method: SignedMethod, key: string, expires: number, contentType: string): string {
    const payload = `${method}\n${key}\n${expires}\n${method === 'PUT' ? mediaTypeOf(contentType) : ''}`;
    return hmacSha256(this.opts.signingKey, payload).toString('base64url');
  }

  private presign(method: SignedMethod, key: string, contentType: string, opts: PresignOptions): string {
    const expires = Math.floor(this.opts.clock.now() / 1000) + opts.expiresInSec;
    const path = key.split('/').map(encodeURIComponent).join('/');
    const query = new URLSearchParams({ expires: String(expires), signature: this.signature(method, key, expires, contentType) });
    return `${this.opts.baseUrl().replace(/\/+$/, '')}${BLOB_ROUTE_PREFIX}${path}?${query}`;
  }

  async presignPut(key: string, contentType: string, opts: PresignOptions): Promise<string> {
    this.pathOf(this.objects, key);
    return this.presign('PUT', key, contentType, opts);
  }

  async presignGet(key: string, opts: PresignOptions): Promise<string> {
    this.pathOf(this.objects, key);
    return this.presign('GET', key, '', opts);
  }

  /**
   * Checks a pre-signed request: 'ok', 'expired' or 'invalid'. For PUT the request's media type
   * must be the one the URL was issued for.
   */
  verify(method: SignedMethod, key: string, expires: string | undefined, signature: string | undefined, contentType: string) {
    if (!isValidBlobKey(key) || !expires || !signature || !/^\d{1,12}$/.test(expires)) return 'invalid' as const;
    const expected = this.signature(method, key, Number(expires), contentType);
    if (!safeEqual(expected, signature)) return 'invalid' as const;
    if (Number(expires) * 1000 < this.opts.clock.now()) return 'expired' as const;
    return 'ok' as const;
  }

  async put(key: string, body: Buffer | Readable, contentType: string, opts: { maxBytes?: number } = {}): Promise<BlobInfo> {
    const target = this.pathOf(this.objects, key);
    const metaPath = this.pathOf(this.meta, key, '.json');
    if (Buffer.isBuffer(body) && body.length <= SYNC_WRITE_MAX)
      return this.putSmall(key, body, contentType, target, metaPath, opts.maxBytes);
    await mkdir(this.tmp, { recursive: true });
    const tmpFile = join(this.tmp, randomUUID());
    const hash = createHash('sha256');
    let size = 0;
    const max = opts.maxBytes ?? Number.POSITIVE_INFINITY;
    try {
      if (Buffer.isBuffer(body)) {
        if (body.length > max) throw new BlobTooLargeError(max);
        size = body.length;
        hash.update(body);
        await writeFile(tmpFile, body, { flag: 'wx' });
      } else {
        const meter = new Transform({
          transform(chunk: Buffer, _enc, done) {
            size += chunk.length;
            if (size > max) {
              done(new BlobTooLargeError(max));
              return;
            }
            hash.update(chunk);
            done(null, chunk);
          },
        });
        // `pipe`, not `pipeline`: on overflow the source (the client's request) must not be
        // destroyed, or the client never reads the 413; the rest of it is drained instead.
        body.on('error', (err) => meter.destroy(err));
        body.pipe(meter);
        try {
          await pipeline(meter, createWriteStream(tmpFile, { flags: 'wx' }));
        } catch (err) {
          body.unpipe(meter);
          body.resume();
          throw err;
        }
      }
      const info: BlobInfo = {
        key,
        size,
        contentType: contentType || 'application/octet-stream',
        etag: `"${hash.digest('hex').slice(0, 32)}"`,
      };
      await mkdir(dirname(target), { recursive: true });
      await mkdir(dirname(metaPath), { recursive: true });
      const tmpMeta = `${tmpFile}.json`;
      await writeFile(tmpMeta, JSON.stringify(info));
      await rename(tmpFile, target);
      await rename(tmpMeta, metaPath);
      return info;
    } catch (err) {
      await unlink(tmpFile).catch(() => {});
      await unlink(`${tmpFile}.json`).catch(() => {});
      throw err;
    }
  }

  /**
   * Small objects (inline text, most fetched pages): the four independent file-system calls run
   * concurrently on the thread pool, then the two renames. Creating files and directories took
   * 0.5–1 ms each on a busy disk, which blocked the event loop when done synchronously.
   */
  private async putSmall(
    key: string,
    body: Buffer,
    contentType: string,
    target: string,
    metaPath: string,
    maxBytes?: number,
  ): Promise<BlobInfo> {
    if (maxBytes !== undefined && body.length > maxBytes) throw new BlobTooLargeError(maxBytes);
    const info: BlobInfo = {
      key,
      size: body.length,
      contentType: contentType || 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`,
    };
    this.tmpReady ??= mkdir(this.tmp, { recursive: true }).catch((err) => {
      this.tmpReady = undefined;
      throw err;
    });
    await this.tmpReady;
    const tmpFile = join(this.tmp, randomUUID());
    const tmpMeta = `${tmpFile}.json`;
    try {
      await settleAll([
        mkdir(dirname(target), { recursive: true }),
        mkdir(dirname(metaPath), { recursive: true }),
        writeFile(tmpFile, body, { flag: 'wx' }),
        writeFile(tmpMeta, JSON.stringify(info)),
      ]);
      await rename(tmpFile, target);
      await rename(tmpMeta, metaPath);
      return info;
    } catch (err) {
      // Someone removed the temp directory: create it again on the next write.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.tmpReady = undefined;
      await Promise.all([unlink(tmpFile).catch(() => {}), unlink(tmpMeta).catch(() => {})]);
      throw err;
    }
  }

  async head(key: string): Promise<BlobInfo | undefined> {
    try {
      return JSON.parse(await readFile(this.pathOf(this.meta, key, '.json'), 'utf8')) as BlobInfo;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async read(key: string, opts: { maxBytes?: number } = {}): Promise<Buffer | undefined> {
    const info = await this.head(key);
    if (!info) return undefined;
    if (opts.maxBytes !== undefined && info.size > opts.maxBytes) throw new BlobTooLargeError(opts.maxBytes);
    try {
      return await readFile(this.pathOf(this.objects, key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** A stream of the object, whole or the inclusive byte range `[start, end]`. */
  stream(key: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.pathOf(this.objects, key), range);
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(this.meta, key, '.json'), { force: true });
    await rm(this.pathOf(this.objects, key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<number> {
    checkBlobPrefix(prefix);
    const dir = this.pathOf(this.objects, prefix.slice(0, -1));
    const files = await readdir(dir, { recursive: true, withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    const count = files.filter((f) => f.isFile()).length;
    await rm(this.pathOf(this.meta, prefix.slice(0, -1)), { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
    return count;
  }

  /**
   * Removes temp files older than `olderThanMs` (uploads cut off by a crash or a killed
   * process); younger ones may belong to another process sharing the data directory.
   * Returns how many were removed.
   */
  async sweepTemp(olderThanMs: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.tmp);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    const before = Date.now() - olderThanMs; // file times are wall-clock times, not the platform clock's
    let removed = 0;
    for (const name of names) {
      const path = join(this.tmp, name);
      const info = await stat(path).catch(() => undefined);
      if (!info || info.mtimeMs >= before) continue;
      await rm(path, { force: true, recursive: true });
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {}
}

/** Waits for every promise (none left running when a cleanup follows), then throws the first failure. */
async function settleAll(promises: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}
