import type { Readable } from 'node:stream';
import type { ResourceRef } from '../../platform/access.js';
import { type BlobInfo, BlobTooLargeError, isValidBlobKey } from '../../platform/blob/index.js';
import type { RequestContext } from '../../platform/context.js';
import { AppError, forbidden, notFound } from '../../platform/errors.js';
import type { Executor, Platform } from '../../platform/index.js';
import { PLATFORM_ADMIN } from '../../platform/principal.js';
import { StorageStore } from './store.js';

export type UploadListener = (info: BlobInfo, tenantId: string) => Promise<void>;
/**
 * The bytes of a key whose object another module keeps elsewhere until it is first downloaded
 * (inline text lives in the database); undefined for keys that are not its own.
 */
export type DeferredObjects = (key: string) => Promise<{ body: Buffer; contentType: string } | undefined>;

const MIB = 1024 * 1024;
const human = (bytes: number) => (bytes >= MIB ? `${Math.round((bytes / MIB) * 10) / 10} MB` : `${bytes} bytes`);

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are removed from names
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * A file name safe to use as the last key segment: no directories, no control characters, no
 * leading dots, only letters, digits, `.`, `-`, `_`; at most 200 characters, extension kept.
 */
export function sanitizeFilename(name: string): string {
  const base = name.normalize('NFC').replace(CONTROL_CHARS, '').split(/[\\/]/).pop() ?? '';
  let clean = base
    .replace(/\s+/g, '_')
    .replace(/[^\p{L}\p{N}._-]/gu, '_')
    .replace(/_+/g, '_')
    .replace(/^[._]+/, '')
    .replace(/_+$/, '');
  if (clean.length > 200) {
    const dot = clean.lastIndexOf('.');
    const ext = dot > 0 && clean.length - dot <= 16 ? clean.slice(dot) : '';
    clean = clean.slice(0, 200 - ext.length) + ext;
  }
  return clean || 'file';
}

/** The tenant that owns a key: its first segment. */
export const tenantOfKey = (key: string): string => key.split('/')[0];

/** A stored object as the access check sees it (Cedar `Loam::File`, id = its key). */
const fileResource = (key: string): ResourceRef => ({ type: 'File', id: key, tenantId: tenantOfKey(key) });

/**
 * Pre-signed URLs, per-file and per-tenant limits, and the record of what each tenant stores.
 * Other modules (content) upload through it and hear about finished uploads via `onUploaded`.
 */
export class StorageService {
  private readonly listeners: UploadListener[] = [];
  private readonly deferred: DeferredObjects[] = [];
  private readonly store = new StorageStore();

  constructor(private readonly platform: Platform) {}

  get blob() {
    return this.platform.blob;
  }

  get expiresInSec(): number {
    return this.platform.config.presignExpirySec;
  }

  get maxFileBytes(): number {
    return this.platform.config.storageMaxFileBytes;
  }

  /** Called after an object arrives through a pre-signed URL (local store) or is confirmed (S3). */
  onUploaded(listener: UploadListener): void {
    this.listeners.push(listener);
  }

  /** Called for a key with no stored object when a download URL is asked for (see `ensure`). */
  onDeferred(source: DeferredObjects): void {
    this.deferred.push(source);
  }

  /**
   * The stored object of a key; a deferred one (see `onDeferred`) is written first, within the
   * limits, as an upload would be. Undefined when there is nothing.
   *
   * A source's content may be replaced while its file is written (the replacement deletes the
   * file after it commits, possibly before this write): the source is read again after the write,
   * and a file that no longer matches is deleted and written anew.
   */
  async ensure(key: string): Promise<BlobInfo | undefined> {
    const info = await this.blob.head(key);
    if (info) return info;
    for (const source of this.deferred) {
      let object = await source(key);
      for (let attempt = 0; object && attempt < 3; attempt++) {
        const stored = await this.put(tenantOfKey(key), key, object.body, object.contentType);
        const now = await source(key);
        if (now?.body.equals(object.body) && now.contentType === object.contentType) return stored;
        await this.blob.delete(key);
        object = now;
      }
      if (object) throw new AppError('conflict', 409, 'The object changed while its file was being written; ask again');
    }
    return undefined;
  }

  /** `<tenant>/<random id>/<sanitized filename>`. */
  newKey(tenantId: string, filename: string, id = this.platform.ids.new('obj')): string {
    return `${tenantId}/${id}/${sanitizeFilename(filename)}`;
  }

  /** Bytes of stored objects of the tenant. */
  usage(tenantId: string, db: Executor = this.platform.database.db): Promise<number> {
    return this.store.usage(db, tenantId);
  }

  private quotaExceeded(used: number): AppError {
    const quota = this.platform.config.storageTenantQuotaBytes;
    return new AppError(
      'quota_exceeded',
      403,
      `Storage quota exceeded: the tenant stores ${human(used)} of its ${human(quota)} (LOAM_STORAGE_TENANT_QUOTA_BYTES)`,
    );
  }

  private fileTooLarge(): AppError {
    return new AppError('file_too_large', 413, `The file is larger than the limit of ${human(this.maxFileBytes)}`);
  }

  /** How many bytes one more object of the tenant may have (file limit and remaining quota). */
  async allowance(tenantId: string, replacingKey?: string): Promise<{ maxBytes: number; byQuota: boolean }> {
    let used = await this.usage(tenantId);
    if (replacingKey) used -= await this.store.size(this.platform.database.db, tenantOfKey(replacingKey), replacingKey);
    const remaining = (await this.quotaBytes(tenantId)) - used;
    if (remaining <= 0) throw this.quotaExceeded(used);
    return remaining < this.maxFileBytes ? { maxBytes: remaining, byQuota: true } : { maxBytes: this.maxFileBytes, byQuota: false };
  }

  /** A pre-signed PUT URL for a new file of the caller's tenant (Atriumn `/generate-upload-url`). */
  async createUploadUrl(
    ctx: RequestContext,
    filename: string,
    contentType: string,
  ): Promise<{ uploadUrl: string; s3Key: string; expiresIn: number }> {
    const key = this.newKey(ctx.tenantId, filename);
    await this.platform.access.check(ctx, 'storage:write', fileResource(key));
    return this.issueUploadUrl(ctx.tenantId, filename, contentType, { key });
  }

  /**
   * Registers the key (so its owner and size are known) and returns a pre-signed PUT URL; for
   * modules that upload into their own items (they check access to those).
   */
  async issueUploadUrl(
    tenantId: string,
    filename: string,
    contentType: string,
    opts: { id?: string; key?: string; tx?: Executor } = {},
  ): Promise<{ uploadUrl: string; s3Key: string; expiresIn: number }> {
    const used = await this.usage(tenantId, opts.tx);
    if (used >= (await this.quotaBytes(tenantId, opts.tx))) throw this.quotaExceeded(used);
    const key = opts.key ?? this.newKey(tenantId, filename, opts.id);
    await this.store.register(opts.tx ?? this.platform.database.db, tenantId, key, contentType, this.platform.clock.now());
    const uploadUrl = await this.blob.presignPut(key, contentType, { expiresInSec: this.expiresInSec });
    return { uploadUrl, s3Key: key, expiresIn: this.expiresInSec };
  }

  /**
   * A pre-signed GET URL for a key of the caller's tenant: another tenant's key → 403 (the key
   * names its tenant, so nothing is revealed), a key with no object → 404.
   */
  async createDownloadUrl(ctx: RequestContext, key: string): Promise<{ downloadUrl: string; expiresIn: number }> {
    if (!isValidBlobKey(key)) throw notFound('Object');
    const { principal } = ctx;
    const owner = tenantOfKey(key);
    if (owner !== principal.tenantId && !principal.roles.includes(PLATFORM_ADMIN)) throw forbidden('The key belongs to another tenant');
    await this.platform.access.check(ctx, 'storage:read', fileResource(key));
    const info = await this.ensure(key);
    if (!info) throw notFound('Object');
    await this.record(info);
    const downloadUrl = await this.blob.presignGet(key, { expiresInSec: this.expiresInSec });
    return { downloadUrl, expiresIn: this.expiresInSec };
  }

  /** Stores an object sent through Loam (multipart, inline text, fetched URL), enforcing the limits. */
  async put(tenantId: string, key: string, body: Buffer | Readable, contentType: string): Promise<BlobInfo> {
    const { maxBytes, byQuota } = await this.allowance(tenantId, key);
    try {
      const info = await this.blob.put(key, body, contentType, { maxBytes });
      await this.record(info);
      return info;
    } catch (err) {
      if (err instanceof BlobTooLargeError) throw byQuota ? this.quotaExceeded(await this.usage(tenantId)) : this.fileTooLarge();
      throw err;
    }
  }

  /** A PUT through a local pre-signed URL: stored within the limits, then announced to listeners. */
  async receiveUpload(key: string, body: Readable, contentType: string): Promise<BlobInfo> {
    const tenantId = tenantOfKey(key);
    const info = await this.put(tenantId, key, body, contentType);
    await this.announce(info);
    return info;
  }

  /**
   * For stores Loam does not see uploads arrive at (S3): checks the object exists, records its
   * size, refuses (and deletes) an object over the file limit. Returns undefined while absent.
   */
  async confirmUpload(key: string): Promise<BlobInfo | undefined> {
    const info = await this.blob.head(key);
    if (!info) return undefined;
    if (info.size > this.maxFileBytes) {
      await this.delete(key);
      throw this.fileTooLarge();
    }
    await this.record(info);
    return info;
  }

  async announce(info: BlobInfo): Promise<void> {
    for (const listener of this.listeners) await listener(info, tenantOfKey(info.key));
  }

  private async record(info: BlobInfo): Promise<void> {
    await this.platform.database.db.transaction().execute((tx) => this.upsertRecord(tx, info));
  }

  /**
   * Records an object another module keeps until its first download (see `onDeferred`), in the
   * caller's transaction: its size counts toward the tenant's quota from now on, and a size that
   * would take the tenant past its quota is refused.
   */
  async reserve(tx: Executor, key: string, size: number, contentType: string): Promise<void> {
    await this.upsertRecord(tx, { key, size, contentType, etag: null }, true);
  }

  /** The key's record, with the tenant's usage moved by the size difference. */
  private async upsertRecord(tx: Executor, info: Omit<BlobInfo, 'etag'> & { etag: string | null }, enforceQuota = false): Promise<void> {
    const tenantId = tenantOfKey(info.key);
    const delta = info.size - (await this.store.size(tx, tenantId, info.key));
    if (enforceQuota && delta > 0) {
      const used = await this.usage(tenantId, tx);
      if (used + delta > (await this.quotaBytes(tenantId, tx))) throw this.quotaExceeded(used);
    }
    await this.store.addUsage(tx, tenantId, delta);
    const object = { key: info.key, tenantId, contentType: info.contentType, size: info.size, etag: info.etag };
    await this.store.upsert(tx, object, this.platform.clock.now());
    await this.platform.events.emit(
      tx,
      'storage.object_stored',
      info.key,
      { key: info.key, size: info.size, content_type: info.contentType },
      { tenantId, source: '/storage' },
    );
  }

  /** The tenant's storage quota: the server-wide one, or the tenant's own when lower (the tenants API). */
  private async quotaBytes(tenantId: string, db?: Executor): Promise<number> {
    const own = await this.platform.checkQuota(tenantId, 'storage_bytes', 0, db).then(
      (use) => use?.limit,
      () => 0,
    );
    return Math.min(this.platform.config.storageTenantQuotaBytes, own ?? Number.POSITIVE_INFINITY);
  }

  async delete(key: string): Promise<void> {
    await this.blob.delete(key);
    const tenantId = tenantOfKey(key);
    await this.platform.database.db.transaction().execute(async (tx) => {
      const removed = await this.store.remove(tx, tenantId, key);
      if (removed) {
        await this.store.addUsage(tx, tenantId, -removed.size);
        await this.platform.events.emit(tx, 'storage.object_deleted', key, { key }, { tenantId, source: '/storage' });
      }
    });
  }
}
