import type {
  GenerateDownloadUrlRequest,
  GenerateDownloadUrlResponse,
  GenerateUploadUrlRequest,
  GenerateUploadUrlResponse,
} from '@loam/api';
import { type APIPromise, APIResource, type LoamCore, type RequestOptions } from '../core.js';
import { type UploadProgress, type UploadSource, type Uploadable, guessContentType, toUploadSource, uploadBody } from '../uploads.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'maxRetries'>;

/** Pre-signed upload and download URLs (the Atriumn storage service). */
export class Storage extends APIResource {
  /**
   * A pre-signed URL to PUT one file to (15 minutes by default).
   * @example const { uploadUrl, s3Key } = await loam.storage.uploadUrl({ filename: 'report.pdf', contentType: 'application/pdf' });
   */
  uploadUrl(body: GenerateUploadUrlRequest, options?: Opts): APIPromise<GenerateUploadUrlResponse> {
    return this.client.request('POST', '/generate-upload-url', { ...options, body });
  }

  /**
   * A pre-signed URL to GET an object by its key.
   * @example const { downloadUrl } = await loam.storage.downloadUrl({ s3Key });
   */
  downloadUrl(body: GenerateDownloadUrlRequest, options?: Opts): APIPromise<GenerateDownloadUrlResponse> {
    return this.client.request('POST', '/generate-download-url', { ...options, body });
  }

  /**
   * Gets an upload URL and uploads `file` to it in one call; returns the object key.
   * @example const { s3Key } = await loam.storage.upload(new Blob(['hello']), { filename: 'hello.txt' });
   */
  async upload(
    file: Uploadable,
    options: { filename?: string; contentType?: string; onProgress?: (p: UploadProgress) => void } & Opts = {},
  ): Promise<{ s3Key: string; size?: number }> {
    const source = await toUploadSource(file, this.client.fileResolver);
    const filename = options.filename ?? source.name ?? 'upload.bin';
    const contentType = options.contentType ?? source.type ?? guessContentType(filename);
    const { uploadUrl, s3Key } = await this.uploadUrl({ filename, contentType }, options);
    await putUpload(this.client, uploadUrl, source, contentType, options);
    return { s3Key, size: source.size };
  }
}

/** PUTs the bytes to a pre-signed URL: no credentials, only `Content-Type` (the signature is in the URL). */
export async function putUpload(
  client: LoamCore,
  url: string,
  source: UploadSource,
  contentType: string,
  options: { onProgress?: (p: UploadProgress) => void; signal?: AbortSignal; timeout?: number } = {},
): Promise<void> {
  const body = uploadBody(source, options.onProgress);
  await client.request('PUT', url, {
    rawBody: body as BodyInit,
    auth: false,
    headers: { 'content-type': contentType, accept: null },
    signal: options.signal,
    timeout: options.timeout,
  });
  options.onProgress?.({ loaded: source.size ?? 0, total: source.size });
}
