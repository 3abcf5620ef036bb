import { createCipheriv, createDecipheriv } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MigrationSet } from '../db/migrate.js';
import type { DatabaseHandle, Executor } from '../db/index.js';
import type { Clock, Ids, Random } from './index.js';
import type { KMSClient } from '@aws-sdk/client-kms';

/**
 * Envelope encryption. Each tenant scope (a dataset, a token vault, …) gets its own random
 * AES-256-GCM data key; data keys are stored only wrapped by a master key that lives outside the
 * database (a key file in the data directory, HashiCorp Vault transit, or AWS KMS). Rotating the
 * master key re-wraps data keys without touching the data they encrypt.
 *
 * Keys never leave this file in a form that could reach logs, errors or events: errors say what
 * failed, never with which key material.
 */

/** Thrown when a ciphertext cannot be decrypted (wrong key, wrong associated data, tampering). */
export class DecryptionError extends Error {
  constructor(message = 'The ciphertext could not be decrypted: it was altered or belongs to another record') {
    super(message);
    this.name = 'DecryptionError';
  }
}

/** Wraps and unwraps data keys with a master key held elsewhere. */
export interface KeyWrapper {
  readonly provider: 'file' | 'vault' | 'aws-kms';
  /** Encrypts a data key; `context` is bound as associated data / encryption context. */
  wrap(dataKey: Buffer, context: string): Promise<string>;
  unwrap(wrapped: string, context: string): Promise<Buffer>;
  /** Starts a new master key version; keys wrapped by older versions stay readable. */
  rotate(): Promise<void>;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** AES-256-GCM: `iv ‖ tag ‖ ciphertext`, with `aad` authenticated but not stored. */
export function sealAesGcm(key: Buffer, plaintext: Buffer, aad: string, random: Random): Buffer {
  const iv = random.bytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

export function openAesGcm(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new DecryptionError();
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new DecryptionError();
  }
}

/**
 * Master keys in `<dataDir>/master.key` (created on first start, mode 0600): one `v<N>:<base64>`
 * line per version, the last one current. Suits a single instance; several instances need a KMS.
 */
export class FileKeyWrapper implements KeyWrapper {
  readonly provider = 'file' as const;
  private versions = new Map<number, Buffer>();
  private current = 0;

  constructor(
    private readonly file: string,
    private readonly random: Random,
  ) {
    if (!existsSync(file)) {
      writeFileSync(file, `v1:${random.bytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    }
    chmodSync(file, 0o600);
    this.load();
  }

  static inDataDir(dataDir: string, random: Random): FileKeyWrapper {
    return new FileKeyWrapper(join(dataDir, 'master.key'), random);
  }

  private load(): void {
    this.versions.clear();
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      const m = /^v(\d+):([A-Za-z0-9+/=]+)$/.exec(line.trim());
      if (!m) continue;
      const key = Buffer.from(m[2], 'base64');
      if (key.length !== 32) throw new Error(`master key file ${this.file} holds a key of the wrong length`);
      this.versions.set(Number(m[1]), key);
      this.current = Math.max(this.current, Number(m[1]));
    }
    if (!this.current) throw new Error(`master key file ${this.file} holds no key`);
  }

  async wrap(dataKey: Buffer, context: string): Promise<string> {
    const key = this.versions.get(this.current) as Buffer;
    return `file:v${this.current}:${sealAesGcm(key, dataKey, context, this.random).toString('base64url')}`;
  }

  async unwrap(wrapped: string, context: string): Promise<Buffer> {
    const m = /^file:v(\d+):([A-Za-z0-9_-]+)$/.exec(wrapped);
    const key = m ? this.versions.get(Number(m[1])) : undefined;
    if (!m || !key) throw new DecryptionError('The data key was wrapped by a master key this server does not hold');
    return openAesGcm(key, Buffer.from(m[2], 'base64url'), context);
  }

  async rotate(): Promise<void> {
    const next = this.current + 1;
    const lines = [...this.versions.entries()].map(([v, k]) => `v${v}:${k.toString('base64')}`);
    lines.push(`v${next}:${this.random.bytes(32).toString('base64')}`);
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${lines.join('\n')}\n`, { mode: 0o600 });
    renameSync(tmp, this.file);
    this.load();
  }
}

type FetchLike = typeof fetch;

/** HashiCorp Vault's transit secrets engine over its HTTP API. */
export class VaultTransitWrapper implements KeyWrapper {
  readonly provider = 'vault' as const;
  constructor(
    private readonly opts: { address: string; token: string; keyName: string; mount?: string; namespace?: string; fetch?: FetchLike },
  ) {}

  private async call(path: string, body: unknown): Promise<Record<string, unknown>> {
    const url = `${this.opts.address.replace(/\/$/, '')}/v1/${this.opts.mount ?? 'transit'}/${path}`;
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-vault-token': this.opts.token };
    if (this.opts.namespace) headers['x-vault-namespace'] = this.opts.namespace;
    let res: Response;
    try {
      res = await (this.opts.fetch ?? fetch)(url, { method: 'POST', headers, body: JSON.stringify(body) });
    } catch (err) {
      throw new Error(`Vault transit is unreachable: ${(err as Error).message}`);
    }
    if (!res.ok) {
      const detail = await res.json().catch(() => ({}));
      const errors = (detail as { errors?: string[] }).errors?.join('; ') ?? '';
      if (path.startsWith('decrypt/')) throw new DecryptionError();
      throw new Error(`Vault transit ${path.split('/')[0]} failed with HTTP ${res.status}${errors ? `: ${errors}` : ''}`);
    }
    const text = await res.text();
    return text ? ((JSON.parse(text) as { data?: Record<string, unknown> }).data ?? {}) : {};
  }

  async wrap(dataKey: Buffer, context: string): Promise<string> {
    const data = await this.call(`encrypt/${this.opts.keyName}`, {
      plaintext: dataKey.toString('base64'),
      associated_data: Buffer.from(context).toString('base64'),
    });
    return String(data.ciphertext);
  }

  async unwrap(wrapped: string, context: string): Promise<Buffer> {
    const data = await this.call(`decrypt/${this.opts.keyName}`, {
      ciphertext: wrapped,
      associated_data: Buffer.from(context).toString('base64'),
    });
    return Buffer.from(String(data.plaintext), 'base64');
  }

  async rotate(): Promise<void> {
    await this.call(`keys/${this.opts.keyName}/rotate`, {});
  }
}

/** AWS KMS (or a KMS-compatible endpoint): the context is bound as the encryption context. */
export class AwsKmsWrapper implements KeyWrapper {
  readonly provider = 'aws-kms' as const;
  /** Loaded on first use, so file and Vault setups never load the SDK (the type import is erased). */
  private client: KMSClient | undefined;
  constructor(private readonly opts: { keyId: string; region: string; endpoint?: string }) {}

  private async kms(): Promise<KMSClient> {
    if (!this.client) {
      const { KMSClient } = await import('@aws-sdk/client-kms');
      this.client = new KMSClient({ region: this.opts.region, ...(this.opts.endpoint ? { endpoint: this.opts.endpoint } : {}) });
    }
    return this.client;
  }

  async wrap(dataKey: Buffer, context: string): Promise<string> {
    const { EncryptCommand } = await import('@aws-sdk/client-kms');
    const out = await (await this.kms()).send(
      new EncryptCommand({ KeyId: this.opts.keyId, Plaintext: dataKey, EncryptionContext: { loam: context } }),
    );
    return `aws-kms:${Buffer.from(out.CiphertextBlob as Uint8Array).toString('base64')}`;
  }

  async unwrap(wrapped: string, context: string): Promise<Buffer> {
    const { DecryptCommand } = await import('@aws-sdk/client-kms');
    if (!wrapped.startsWith('aws-kms:')) throw new DecryptionError('The data key was not wrapped by AWS KMS');
    try {
      const out = await (await this.kms()).send(
        new DecryptCommand({
          KeyId: this.opts.keyId,
          CiphertextBlob: Buffer.from(wrapped.slice(8), 'base64'),
          EncryptionContext: { loam: context },
        }),
      );
      return Buffer.from(out.Plaintext as Uint8Array);
    } catch (err) {
      if ((err as { name?: string }).name === 'InvalidCiphertextException') throw new DecryptionError();
      throw new Error(`AWS KMS decrypt failed: ${(err as Error).name}`);
    }
  }

  async rotate(): Promise<void> {
    const { RotateKeyOnDemandCommand } = await import('@aws-sdk/client-kms');
    await (await this.kms()).send(new RotateKeyOnDemandCommand({ KeyId: this.opts.keyId }));
  }
}

export const keyRingMigrations: MigrationSet = {
  module: 'keys',
  migrations: {
    async '001_data_keys'(db) {
      await db.schema
        .createTable('data_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('wrapped', 'text', (c) => c.notNull())
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('rotated_at', 'bigint')
        .addUniqueConstraint('data_keys_scope', ['tenant_id', 'scope'])
        .execute();
    },
  },
};

const CIPHERTEXT_PREFIX = 'enc:v1:';

/** How a `data_keys.wrapped` value sealed with its tenant's root key begins. */
export const ROOT_SEALED_PREFIX = 'trk:v1:';

/**
 * Per-tenant root keys held outside the database (`tenant-keys.ts`): data keys sealed with them
 * die with them, in every copy of the database (crypto-shredding).
 */
export interface RootKeys {
  seal(tenantId: string, dataKey: Buffer, context: string): Promise<string>;
  open(tenantId: string, sealed: string, context: string): Promise<Buffer>;
  destroy(tenantId: string): Promise<boolean>;
  forget(tenantId: string): void;
  rewrap(tenantIds: Iterable<string>): Promise<number>;
  /** The stored (master-wrapped) form of the tenant's root key. */
  wrapped(tenantId: string): Promise<string | undefined>;
}

/** Whether a stored value is a DataKeyRing ciphertext. */
export const isCiphertext = (value: unknown): value is string => typeof value === 'string' && value.startsWith(CIPHERTEXT_PREFIX);

/**
 * Data keys per (tenant, scope), wrapped by the master key, cached unwrapped in memory.
 * Ciphertexts are self-describing (`enc:v1:<key id>:<iv‖tag‖ct>`), so decryption needs only the
 * tenant and the associated data that binds the value to its record and field.
 */
export class DataKeyRing {
  private readonly cache = new Map<string, Buffer>();
  /**
   * Each scope's data key, per executor (the database, or one transaction): what an executor has
   * read it will read again, since data keys are never deleted and rotation re-wraps them in
   * place. A key created inside a transaction is remembered by that transaction only, so a
   * rollback leaves nothing behind.
   */
  private readonly scopeKeys = new WeakMap<Executor, Map<string, { id: string; key: Buffer }>>();

  constructor(
    private readonly database: DatabaseHandle,
    private readonly wrapper: KeyWrapper,
    private readonly clock: Clock,
    private readonly ids: Ids,
    private readonly random: Random,
    /** Without it, data keys are wrapped by the master key alone (and erasure only deletes them). */
    private readonly roots?: RootKeys,
  ) {}

  get provider(): KeyWrapper['provider'] {
    return this.wrapper.provider;
  }

  private wrapContext(tenantId: string, scope: string, id: string): string {
    return `loam-data-key|${tenantId}|${scope}|${id}`;
  }

  /** The data key of `scope`, created on first use. */
  private async dataKey(tenantId: string, scope: string, db: Executor = this.database.db): Promise<{ id: string; key: Buffer }> {
    let known = this.scopeKeys.get(db);
    const memoKey = `${tenantId}/${scope}`;
    const hit = known?.get(memoKey);
    if (hit) return hit;
    let row = await db
      .selectFrom('data_keys')
      .select(['id', 'wrapped'])
      .where('tenant_id', '=', tenantId)
      .where('scope', '=', scope)
      .executeTakeFirst();
    if (!row) {
      const id = this.ids.new('dk');
      const key = this.random.bytes(32);
      const context = this.wrapContext(tenantId, scope, id);
      const wrapped = this.roots ? await this.roots.seal(tenantId, key, context) : await this.wrapper.wrap(key, context);
      await db
        .insertInto('data_keys')
        .values({ id, tenant_id: tenantId, scope, wrapped, provider: this.wrapper.provider, created_at: this.clock.now() })
        .onConflict((oc) => oc.columns(['tenant_id', 'scope']).doNothing())
        .execute();
      row = await db
        .selectFrom('data_keys')
        .select(['id', 'wrapped'])
        .where('tenant_id', '=', tenantId)
        .where('scope', '=', scope)
        .executeTakeFirstOrThrow();
    }
    const found = { id: row.id, key: await this.keyById(tenantId, row.id, db) };
    if (!known) {
      known = new Map();
      this.scopeKeys.set(db, known);
    }
    if (known.size > 10_000) known.clear();
    known.set(memoKey, found);
    return found;
  }

  private async keyById(tenantId: string, id: string, db: Executor = this.database.db): Promise<Buffer> {
    // Keyed by tenant too: a ciphertext naming another tenant's key must not find it in the cache.
    const cacheKey = `${tenantId}/${id}`;
    const cached = this.cache.get(cacheKey);
    if (cached) return cached;
    const row = await db
      .selectFrom('data_keys')
      .select(['scope', 'wrapped'])
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new DecryptionError('The ciphertext names a data key that does not exist in this tenant');
    const key = await this.unwrap(tenantId, row.wrapped, this.wrapContext(tenantId, row.scope, id));
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(cacheKey, key);
    return key;
  }

  private unwrap(tenantId: string, wrapped: string, context: string): Promise<Buffer> {
    if (!wrapped.startsWith(ROOT_SEALED_PREFIX)) return this.wrapper.unwrap(wrapped, context);
    if (!this.roots) throw new DecryptionError('The data key is sealed with a tenant root key this server does not hold');
    return this.roots.open(tenantId, wrapped, context);
  }

  /**
   * Crypto-shredding: destroys the tenant's root key and every data key of the tenant, and forgets
   * them here. Returns how many data keys were destroyed.
   */
  async shred(tenantId: string): Promise<{ dataKeys: number; rootKey: boolean }> {
    const rootKey = this.roots ? await this.roots.destroy(tenantId) : false;
    const deleted = await this.database.db.deleteFrom('data_keys').where('tenant_id', '=', tenantId).executeTakeFirst();
    this.forget(tenantId);
    return { dataKeys: Number(deleted.numDeletedRows), rootKey };
  }

  /** Drops every cached key of the tenant (its keys were destroyed, here or by another process). */
  forget(tenantId: string): void {
    this.roots?.forget(tenantId);
    for (const k of this.cache.keys()) if (k.startsWith(`${tenantId}/`)) this.cache.delete(k);
    const known = this.scopeKeys.get(this.database.db);
    if (known) for (const k of known.keys()) if (k.startsWith(`${tenantId}/`)) known.delete(k);
  }

  /** Encrypts `plaintext` under the data key of `scope`; `aad` binds it to its record and field. */
  async encrypt(tenantId: string, scope: string, plaintext: string | Buffer, aad: string, db?: Executor): Promise<string> {
    const { id, key } = await this.dataKey(tenantId, scope, db);
    const sealed = sealAesGcm(key, Buffer.isBuffer(plaintext) ? plaintext : Buffer.from(plaintext), aad, this.random);
    return `${CIPHERTEXT_PREFIX}${id}:${sealed.toString('base64url')}`;
  }

  async decrypt(tenantId: string, ciphertext: string, aad: string, db?: Executor): Promise<Buffer> {
    const m = /^enc:v1:(dk_[A-Za-z0-9]+):([A-Za-z0-9_-]+)$/.exec(ciphertext);
    if (!m) throw new DecryptionError('The value is not a Loam ciphertext');
    return openAesGcm(await this.keyById(tenantId, m[1], db), Buffer.from(m[2], 'base64url'), aad);
  }

  async decryptString(tenantId: string, ciphertext: string, aad: string, db?: Executor): Promise<string> {
    return (await this.decrypt(tenantId, ciphertext, aad, db)).toString('utf8');
  }

  /**
   * Starts a new master key version and re-wraps every data key with it. The data keys themselves
   * do not change, so no record is rewritten. Returns how many keys were re-wrapped.
   */
  async rotateMasterKey(): Promise<{ rewrapped: number; provider: string }> {
    await this.wrapper.rotate();
    const rows = await this.database.db.selectFrom('data_keys').select(['id', 'tenant_id', 'scope', 'wrapped']).execute();
    let rewrapped = 0;
    const rooted = new Set<string>();
    for (const row of rows) {
      // Sealed with a tenant root key: re-wrapping that root key covers it.
      if (row.wrapped.startsWith(ROOT_SEALED_PREFIX)) {
        rooted.add(row.tenant_id);
        continue;
      }
      const context = this.wrapContext(row.tenant_id, row.scope, row.id);
      const key = await this.wrapper.unwrap(row.wrapped, context);
      const wrapped = await this.wrapper.wrap(key, context);
      await this.database.db
        .updateTable('data_keys')
        .set({ wrapped, provider: this.wrapper.provider, rotated_at: this.clock.now() })
        .where('id', '=', row.id)
        .execute();
      rewrapped++;
    }
    if (this.roots) rewrapped += await this.roots.rewrap(rooted);
    return { rewrapped, provider: this.wrapper.provider };
  }

  /**
   * What the master key wraps for a scope's key (tests check rotation changed it): the wrapped
   * data key, or for one sealed with its tenant's root key, the wrapped root key.
   */
  async wrappedKeyOf(tenantId: string, scope: string): Promise<string | undefined> {
    const row = await this.database.db
      .selectFrom('data_keys')
      .select('wrapped')
      .where('tenant_id', '=', tenantId)
      .where('scope', '=', scope)
      .executeTakeFirst();
    if (row?.wrapped.startsWith(ROOT_SEALED_PREFIX) && this.roots) return this.roots.wrapped(tenantId);
    return row?.wrapped;
  }
}

/** The master-key wrapper the configuration names. */
export function createKeyWrapper(
  config: {
    kmsProvider: string;
    dataDir: string;
    vaultAddr: string;
    vaultToken: string;
    vaultTransitMount: string;
    vaultTransitKey: string;
    awsKmsKeyId: string;
    awsKmsRegion: string;
    awsKmsEndpoint: string;
  },
  random: Random,
): KeyWrapper {
  if (config.kmsProvider === 'vault') {
    if (!config.vaultAddr || !config.vaultToken) throw new Error('LOAM_KMS_PROVIDER=vault needs LOAM_VAULT_ADDR and LOAM_VAULT_TOKEN');
    return new VaultTransitWrapper({
      address: config.vaultAddr,
      token: config.vaultToken,
      keyName: config.vaultTransitKey,
      mount: config.vaultTransitMount,
    });
  }
  if (config.kmsProvider === 'aws-kms') {
    if (!config.awsKmsKeyId) throw new Error('LOAM_KMS_PROVIDER=aws-kms needs LOAM_AWS_KMS_KEY_ID');
    return new AwsKmsWrapper({ keyId: config.awsKmsKeyId, region: config.awsKmsRegion, endpoint: config.awsKmsEndpoint || undefined });
  }
  return FileKeyWrapper.inDataDir(config.dataDir, random);
}
