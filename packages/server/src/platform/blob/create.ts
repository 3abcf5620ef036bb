import { join, resolve } from 'node:path';
import type { Config } from '../../config.js';
import type { Clock, Signer } from '../crypto/index.js';
import type { Readable } from 'node:stream';
import type { BlobInfo, BlobStore, PresignOptions } from './index.js';
import { LocalBlobStore } from './local.js';
import type { S3BlobOptions, S3BlobStore } from './s3.js';

/** The blob store the configuration asks for (LOAM_BLOB_STORE). */
export function createBlobStore(config: Config, signer: Signer, clock: Clock): BlobStore {
  if (config.blobStore === 's3')
    return new LazyS3BlobStore({
      bucket: config.s3Bucket,
      region: config.s3Region,
      endpoint: config.s3Endpoint || undefined,
      forcePathStyle: config.s3ForcePathStyle,
      accessKeyId: config.s3AccessKeyId,
      secretAccessKey: config.s3SecretAccessKey,
    });
  return new LocalBlobStore({
    root: join(resolve(config.dataDir), 'blobs'),
    signingKey: signer.derive('blob'),
    baseUrl: () => config.publicUrl || `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`,
    clock,
  });
}

/**
 * The S3 adapter, loaded with the AWS SDK (~35 MB, ~0.2 s) on its first call instead of at start,
 * so no process pays for the SDK before it touches a blob (and the default local store never).
 */
class LazyS3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  private store?: Promise<S3BlobStore>;

  constructor(private readonly opts: S3BlobOptions) {
    this.bucket = opts.bucket;
  }

  private s3(): Promise<S3BlobStore> {
    this.store ??= import('./s3.js').then(({ S3BlobStore }) => new S3BlobStore(this.opts));
    return this.store;
  }

  async presignPut(key: string, contentType: string, opts: PresignOptions): Promise<string> {
    return (await this.s3()).presignPut(key, contentType, opts);
  }
  async presignGet(key: string, opts: PresignOptions): Promise<string> {
    return (await this.s3()).presignGet(key, opts);
  }
  async put(key: string, body: Buffer | Readable, contentType: string, opts?: { maxBytes?: number }): Promise<BlobInfo> {
    return (await this.s3()).put(key, body, contentType, opts);
  }
  async head(key: string): Promise<BlobInfo | undefined> {
    return (await this.s3()).head(key);
  }
  async read(key: string, opts?: { maxBytes?: number }): Promise<Buffer | undefined> {
    return (await this.s3()).read(key, opts);
  }
  async delete(key: string): Promise<void> {
    return (await this.s3()).delete(key);
  }
  async deletePrefix(prefix: string): Promise<number> {
    return (await this.s3()).deletePrefix(prefix);
  }
  async close(): Promise<void> {
    if (this.store) await (await this.store).close();
  }
}
