import { join, resolve } from 'node:path';
import type { Config } from '../../config.js';
import type { Clock, Signer } from '../crypto/index.js';
import type { BlobStore } from './index.js';
import { LocalBlobStore } from './local.js';
import { S3BlobStore } from './s3.js';

/** The blob store the configuration asks for (LOAM_BLOB_STORE). */
export function createBlobStore(config: Config, signer: Signer, clock: Clock): BlobStore {
  if (config.blobStore === 's3')
    return new S3BlobStore({
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
