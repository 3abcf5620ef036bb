import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type BlobInfo, type BlobStore, BlobTooLargeError, type PresignOptions, checkBlobPrefix, isValidBlobKey } from './index.js';

export interface S3BlobOptions {
  bucket: string;
  region: string;
  /** Empty = AWS; otherwise the S3-compatible endpoint (MinIO, R2, …). */
  endpoint?: string;
  forcePathStyle?: boolean;
  /** Empty = the SDK's default credential chain (env, profile, instance role). */
  accessKeyId?: string;
  secretAccessKey?: string;
}

const isNotFound = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
};

async function collect(source: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      source.destroy();
      throw new BlobTooLargeError(maxBytes);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Objects in an S3-compatible bucket; pre-signed URLs are S3's own (SigV4 query signing). */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  readonly client: S3Client;

  constructor(opts: S3BlobOptions) {
    this.bucket = opts.bucket;
    const config: S3ClientConfig = {
      region: opts.region,
      forcePathStyle: opts.forcePathStyle,
      // Pre-signed URLs are used by plain HTTP clients that cannot add checksum headers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    if (opts.endpoint) config.endpoint = opts.endpoint;
    if (opts.accessKeyId && opts.secretAccessKey)
      config.credentials = { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey };
    this.client = new S3Client(config);
  }

  private check(key: string): void {
    if (!isValidBlobKey(key)) throw new Error(`invalid blob key: ${JSON.stringify(key)}`);
  }

  async presignPut(key: string, contentType: string, opts: PresignOptions): Promise<string> {
    this.check(key);
    return getSignedUrl(this.client, new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: contentType }), {
      expiresIn: opts.expiresInSec,
    });
  }

  async presignGet(key: string, opts: PresignOptions): Promise<string> {
    this.check(key);
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: opts.expiresInSec });
  }

  /** Buffers the body (bounded by `maxBytes`) so the request carries a Content-Length. */
  async put(key: string, body: Buffer | Readable, contentType: string, opts: { maxBytes?: number } = {}): Promise<BlobInfo> {
    this.check(key);
    const max = opts.maxBytes ?? Number.POSITIVE_INFINITY;
    const data = Buffer.isBuffer(body) ? body : await collect(body, max);
    if (data.length > max) throw new BlobTooLargeError(max);
    const type = contentType || 'application/octet-stream';
    const out = await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data, ContentType: type }));
    return { key, size: data.length, contentType: type, etag: out.ETag ?? '""' };
  }

  async head(key: string): Promise<BlobInfo | undefined> {
    this.check(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        key,
        size: Number(out.ContentLength ?? 0),
        contentType: out.ContentType ?? 'application/octet-stream',
        etag: out.ETag ?? '""',
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async read(key: string, opts: { maxBytes?: number } = {}): Promise<Buffer | undefined> {
    this.check(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const max = opts.maxBytes ?? Number.POSITIVE_INFINITY;
      if (Number(out.ContentLength ?? 0) > max) {
        (out.Body as Readable | undefined)?.destroy?.();
        throw new BlobTooLargeError(max);
      }
      return await collect(out.Body as Readable, max);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    this.check(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    checkBlobPrefix(prefix);
    let removed = 0;
    // Listing after each batch's removal: the next page starts where the store now begins.
    for (;;) {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, MaxKeys: 1000 }));
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
      if (keys.length === 0) return removed;
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }));
      removed += keys.length;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
