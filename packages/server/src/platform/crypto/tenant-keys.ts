import type { BlobStore } from '../blob/index.js';
import type { DatabaseHandle } from '../db/index.js';
import { DecryptionError, type KeyWrapper, ROOT_SEALED_PREFIX, type RootKeys, openAesGcm, sealAesGcm } from './envelope.js';
import type { Random } from './index.js';

const SEALED_PREFIX = ROOT_SEALED_PREFIX;

/**
 * Per-tenant root keys, kept outside the database: in the blob store under `.loam-keys/<tenant>/`
 * (no tenant id starts with a dot, so no tenant's own objects share the folder), wrapped by the
 * master key. A tenant's data keys are sealed with its root key before they are stored, so
 * destroying the root key (crypto-shredding, tenant erasure) leaves every copy of the database,
 * backups included, unable to decrypt the tenant's values even with the master key.
 */
export class TenantRootKeys implements RootKeys {
  private readonly cache = new Map<string, Buffer>();
  private readonly creating = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly blob: BlobStore,
    private readonly wrapper: KeyWrapper,
    private readonly random: Random,
    private readonly database: DatabaseHandle,
  ) {}

  private blobKey(tenantId: string): string {
    return `.loam-keys/${tenantId}/root`;
  }

  private context(tenantId: string): string {
    return `loam-tenant-root-key|${tenantId}`;
  }

  /** Seals a data key with the tenant's root key (created on first use). */
  async seal(tenantId: string, dataKey: Buffer, context: string): Promise<string> {
    const root = await this.rootKey(tenantId, true);
    return `${SEALED_PREFIX}${sealAesGcm(root as Buffer, dataKey, context, this.random).toString('base64url')}`;
  }

  async open(tenantId: string, sealed: string, context: string): Promise<Buffer> {
    const root = await this.rootKey(tenantId, false);
    if (!root) throw new DecryptionError("The tenant's root key was destroyed (the tenant was erased)");
    return openAesGcm(root, Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url'), context);
  }

  /** Destroys the tenant's root key; returns whether one existed. */
  async destroy(tenantId: string): Promise<boolean> {
    this.cache.delete(tenantId);
    // The whole folder: the key and anything a later version keeps beside it.
    return (await this.blob.deletePrefix(`.loam-keys/${tenantId}/`)) > 0;
  }

  /** Drops the cached root key (another process destroyed it). */
  forget(tenantId: string): void {
    this.cache.delete(tenantId);
  }

  async wrapped(tenantId: string): Promise<string | undefined> {
    return (await this.blob.read(this.blobKey(tenantId), { maxBytes: 64 * 1024 }))?.toString('utf8');
  }

  /** Re-wraps the root keys of `tenantIds` with the current master key version (after a master-key rotation). */
  async rewrap(tenantIds: Iterable<string>): Promise<number> {
    let n = 0;
    for (const tenantId of tenantIds) {
      const root = await this.rootKey(tenantId, false);
      if (!root) continue;
      const wrapped = await this.wrapper.wrap(root, this.context(tenantId));
      await this.blob.put(this.blobKey(tenantId), Buffer.from(wrapped), 'text/plain');
      n++;
    }
    return n;
  }

  private async rootKey(tenantId: string, create: boolean): Promise<Buffer | undefined> {
    const cached = this.cache.get(tenantId);
    if (cached) return cached;
    const stored = await this.read(tenantId);
    if (stored || !create) return stored;
    let pending = this.creating.get(tenantId);
    if (!pending) {
      pending = this.create(tenantId).finally(() => this.creating.delete(tenantId));
      this.creating.set(tenantId, pending);
    }
    return pending;
  }

  private async read(tenantId: string): Promise<Buffer | undefined> {
    const stored = await this.blob.read(this.blobKey(tenantId), { maxBytes: 64 * 1024 });
    if (!stored) return undefined;
    const key = await this.wrapper.unwrap(stored.toString('utf8'), this.context(tenantId));
    this.cache.set(tenantId, key);
    return key;
  }

  /**
   * Creates the root key once: processes sharing a database (PostgreSQL) serialize on an
   * advisory lock and read again under it; SQLite is served by one process, where `creating`
   * already serializes.
   */
  private async create(tenantId: string): Promise<Buffer> {
    const make = async () => {
      const again = await this.read(tenantId);
      if (again) return again;
      const key = this.random.bytes(32);
      await this.blob.put(this.blobKey(tenantId), Buffer.from(await this.wrapper.wrap(key, this.context(tenantId))), 'text/plain');
      this.cache.set(tenantId, key);
      return key;
    };
    const { db, dialect } = this.database;
    if (!dialect.rowLocks) return make();
    return db.transaction().execute(async (tx) => {
      await dialect.advisoryTransactionLock(tx, `tenant-root-key:${tenantId}`);
      return make();
    });
  }
}
