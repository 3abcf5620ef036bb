import type { Readable } from 'node:stream';

/** What is kept about a stored object. */
export interface BlobInfo {
  key: string;
  size: number;
  contentType: string;
  /** Quoted entity tag, as sent in the `ETag` header. */
  etag: string;
}

export interface PresignOptions {
  /** Seconds the URL stays valid. */
  expiresInSec: number;
}

/**
 * Object storage port. Keys are `/`-separated paths (`<tenant>/<id>/<filename>`); callers
 * validate them with `isValidBlobKey`. Adapters: `local` (files in the data directory, pre-signed
 * URLs served by Loam itself) and `s3` (any S3-compatible store).
 */
export interface BlobStore {
  readonly kind: 'local' | 's3';
  /** The bucket name reported to clients (`s3Bucket`). */
  readonly bucket: string;
  /** A URL that accepts one `PUT` of the object with exactly this Content-Type, no credentials needed. */
  presignPut(key: string, contentType: string, opts: PresignOptions): Promise<string>;
  /** A URL that serves the object with `GET`, no credentials needed. */
  presignGet(key: string, opts: PresignOptions): Promise<string>;
  /** Stores `body`; throws BlobTooLargeError (and keeps nothing) past `maxBytes`. */
  put(key: string, body: Buffer | Readable, contentType: string, opts?: { maxBytes?: number }): Promise<BlobInfo>;
  /** The object's info, or undefined when absent. */
  head(key: string): Promise<BlobInfo | undefined>;
  /** The whole object (throws BlobTooLargeError past `maxBytes`), or undefined when absent. */
  read(key: string, opts?: { maxBytes?: number }): Promise<Buffer | undefined>;
  /** Removes the object; absent objects are fine. */
  delete(key: string): Promise<void>;
  /**
   * Removes every object whose key starts with `prefix` (a folder: valid key segments ending in
   * `/`, e.g. `<tenant>/`); returns how many were removed. Used by tenant erasure.
   */
  deletePrefix(prefix: string): Promise<number>;
  close(): Promise<void>;
}

export class BlobTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`The object is larger than ${maxBytes} bytes`);
    this.name = 'BlobTooLargeError';
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A key of non-empty segments, none `.` or `..`, no backslash or control character, ≤ 1024 bytes. */
export function isValidBlobKey(key: string): boolean {
  if (!key || Buffer.byteLength(key) > 1024 || key.startsWith('/') || key.includes('\\') || CONTROL.test(key)) return false;
  return key.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** The media type without parameters, lower-case (`Text/Plain; charset=x` → `text/plain`). */
export const mediaTypeOf = (contentType: string | undefined): string => (contentType ?? '').split(';')[0].trim().toLowerCase();

export const MAX_PRESIGN_SEC = 7 * 24 * 3600;

/** A folder prefix for `deletePrefix`: valid key segments followed by `/`. */
export function checkBlobPrefix(prefix: string): void {
  if (!prefix.endsWith('/') || !isValidBlobKey(prefix.slice(0, -1))) throw new Error(`invalid blob prefix: ${JSON.stringify(prefix)}`);
}
