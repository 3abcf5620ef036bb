import type { ApiKey, ApiKeyWithSecret, CreateApiKey } from '@loam/api';
import type { FastifyRequest } from 'fastify';
import type { CompiledQuery } from 'kysely';
import { randomToken, sha256 } from '../../platform/crypto/index.js';
import { fromJson, toJson } from '../../platform/db/index.js';
import { rfc3339, rfc3339OrNull } from '../../platform/http/context.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import { type PageRequest, pageById } from '../../platform/http/pagination.js';
import type { Executor, Platform } from '../../platform/index.js';
import { PLATFORM_ADMIN, type Principal, hasScope } from '../../platform/principal.js';

export const API_KEY_PREFIX = 'loam_sk_';
const LAST_USED_EVERY_MS = 60_000;

/** The columns authentication reads. */
interface KeyRow {
  id: string;
  tenant_id: string;
  scopes: unknown;
  roles: unknown;
  expires_at: number | bigint | null;
  revoked_at: number | bigint | null;
}

/** Who changed a key, for the audit log (absent for keys created at bootstrap). */
const actorOf = (p?: Principal) => (p ? { actor: p.subject, actor_kind: p.kind } : {});

// biome-ignore lint/suspicious/noExplicitAny: a raw api_keys row
function toApiKey(row: any): ApiKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: fromJson<string[]>(row.scopes),
    roles: fromJson<string[]>(row.roles),
    tenant_id: row.tenant_id,
    created_by: row.created_by,
    created_at: rfc3339(Number(row.created_at)),
    expires_at: rfc3339OrNull(row.expires_at == null ? null : Number(row.expires_at)),
    last_used_at: rfc3339OrNull(row.last_used_at == null ? null : Number(row.last_used_at)),
    revoked_at: rfc3339OrNull(row.revoked_at == null ? null : Number(row.revoked_at)),
  };
}

/**
 * API keys: random secrets shown once, stored as SHA-256 hashes (the secret has ~238 bits of
 * entropy, so a fast hash is safe and keeps authentication cheap), owned by a tenant.
 */
export class ApiKeyService {
  private readonly lastUsedWritten = new Map<string, number>();
  /** The per-request lookup, built and compiled to SQL once; each request binds its own hash. */
  private readonly byHash: CompiledQuery<KeyRow>;

  constructor(private readonly platform: Platform) {
    this.byHash = platform.database.db
      .selectFrom('api_keys')
      .select(['id', 'tenant_id', 'scopes', 'roles', 'expires_at', 'revoked_at'])
      .where('hash', '=', '')
      .compile() as CompiledQuery<KeyRow>;
  }

  private newSecret(): { key: string; prefix: string; hash: string } {
    const key = API_KEY_PREFIX + randomToken(this.platform.random, 40);
    return { key, prefix: key.slice(0, API_KEY_PREFIX.length + 4), hash: sha256(key) };
  }

  /** Creates a key in `tenantId`. `creator` (when given) cannot grant more than it holds. */
  async create(
    tenantId: string,
    input: CreateApiKey,
    creator?: Principal,
    opts: { secret?: string; tx?: Executor } = {},
  ): Promise<ApiKeyWithSecret> {
    const roles = input.roles ?? [];
    const scopes = [...new Set(input.scopes ?? [])];
    if (creator) {
      const tooBroad = scopes.filter((s) => !hasScope(creator, s));
      const rolesNotHeld = roles.filter((r) => !creator.roles.includes(r) && !creator.roles.includes('admin'));
      if (roles.includes(PLATFORM_ADMIN) && !creator.roles.includes(PLATFORM_ADMIN)) rolesNotHeld.push(PLATFORM_ADMIN);
      if (tooBroad.length || rolesNotHeld.length)
        throw new AppError(
          'forbidden',
          403,
          `A key cannot grant more than its creator holds: ${[...tooBroad, ...rolesNotHeld].join(', ')}`,
        );
    }
    const expiresAt = input.expires_at ? Date.parse(input.expires_at) : null;
    if (expiresAt !== null && expiresAt <= this.platform.clock.now())
      throw new AppError('validation_error', 400, 'expires_at must be in the future', [
        { field: 'expires_at', code: 'out_of_range', message: 'expires_at must be in the future' },
      ]);
    const secret = opts.secret
      ? { key: opts.secret, prefix: opts.secret.slice(0, Math.min(12, opts.secret.length - 4)), hash: sha256(opts.secret) }
      : this.newSecret();
    const id = this.platform.ids.new('key');
    const now = this.platform.clock.now();
    const write = async (tx: Executor) => {
      const row = await tx
        .insertInto('api_keys')
        .values({
          id,
          tenant_id: tenantId,
          name: input.name,
          prefix: secret.prefix,
          hash: secret.hash,
          scopes: toJson(scopes),
          roles: toJson(roles),
          created_by: creator?.subject ?? null,
          created_at: now,
          expires_at: expiresAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.platform.events.emit(tx, 'apikey.created', id, { id, name: input.name, scopes, roles, ...actorOf(creator) }, { tenantId });
      return row;
    };
    const row = opts.tx ? await write(opts.tx) : await this.platform.transaction(write);
    return { ...toApiKey(row), key: secret.key };
  }

  async list(tenantId: string, page: PageRequest) {
    const db = this.platform.database.db;
    const { items, pagination } = await pageById(
      db.selectFrom('api_keys').selectAll().where('tenant_id', '=', tenantId),
      page,
      this.platform.signer,
      `apikeys:${tenantId}`,
      db
        .selectFrom('api_keys')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', tenantId),
    );
    return { items: items.map(toApiKey), pagination };
  }

  async get(tenantId: string, id: string, db: Executor = this.platform.database.db): Promise<ApiKey> {
    const row = await db.selectFrom('api_keys').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('API key');
    return toApiKey(row);
  }

  /** Revokes at once: the next request with the key is refused. Idempotent. */
  async revoke(tenantId: string, id: string, actor?: Principal): Promise<void> {
    await this.platform.transaction(async (tx) => {
      const row = await tx
        .updateTable('api_keys')
        .set({ revoked_at: this.platform.clock.now() })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .returning('id')
        .executeTakeFirst();
      if (!row) {
        // 404 for a foreign or unknown key; an already revoked key is fine. Read through `tx`:
        // SQLite has one connection, so a read outside the transaction would wait for it forever.
        await this.get(tenantId, id, tx);
        return;
      }
      await this.platform.events.emit(tx, 'apikey.revoked', id, { id, ...actorOf(actor) }, { tenantId });
    });
  }

  /** Replaces the secret; the old one stops working at once. */
  async rotate(tenantId: string, id: string, actor?: Principal): Promise<ApiKeyWithSecret> {
    const secret = this.newSecret();
    const row = await this.platform.transaction(async (tx) => {
      const updated = await tx
        .updateTable('api_keys')
        .set({ hash: secret.hash, prefix: secret.prefix })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (!updated) throw notFound('API key');
      await this.platform.events.emit(tx, 'apikey.rotated', id, { id, ...actorOf(actor) }, { tenantId });
      return updated;
    });
    return { ...toApiKey(row), key: secret.key };
  }

  /** The bearer authenticator for API keys. */
  /** The bearer authenticator for API keys; answers null at once (no promise) for other tokens. */
  authenticate = (token: string, _request?: FastifyRequest): Promise<Principal | null> | null => {
    if (!token.startsWith(API_KEY_PREFIX) && !this.isCustomKeyCandidate(token)) return null;
    return this.lookup(token);
  };

  private async lookup(token: string): Promise<Principal | null> {
    const { rows } = await this.platform.database.db.executeQuery<KeyRow>({ ...this.byHash, parameters: [sha256(token)] });
    const row = rows[0];
    if (!row) return null;
    const now = this.platform.clock.now();
    if (row.revoked_at != null || (row.expires_at != null && Number(row.expires_at) <= now)) return null;
    this.touch(row.id, now);
    return {
      tenantId: row.tenant_id,
      subject: row.id,
      kind: 'api_key',
      roles: fromJson<string[]>(row.roles),
      scopes: fromJson<string[]>(row.scopes),
      credentialId: row.id,
    };
  }

  /** Operator-chosen admin keys (LOAM_ADMIN_API_KEY) need not carry our prefix; JWTs have two dots. */
  private isCustomKeyCandidate(token: string): boolean {
    // Two dots (counted without splitting: this runs for every bearer token, JWTs included).
    const first = token.indexOf('.');
    const second = first < 0 ? -1 : token.indexOf('.', first + 1);
    return second < 0 || token.indexOf('.', second + 1) >= 0;
  }

  /** Records `last_used_at`, at most once a minute per key so authentication stays read-only. */
  private touch(id: string, now: number): void {
    const last = this.lastUsedWritten.get(id) ?? 0;
    if (now - last < LAST_USED_EVERY_MS) return;
    this.lastUsedWritten.set(id, now);
    this.platform.database.db
      .updateTable('api_keys')
      .set({ last_used_at: now })
      .where('id', '=', id)
      .execute()
      .catch((err) => this.platform.log.warn({ err }, 'could not record api key use'));
  }

  /**
   * On first start (no key in the default tenant yet), creates the admin key: the configured
   * LOAM_ADMIN_API_KEY, or a generated one that is returned so the caller can print it once.
   */
  async bootstrapAdmin(tx: Executor, tenantId: string): Promise<{ created: boolean; key?: string }> {
    const any = await tx.selectFrom('api_keys').select('id').where('tenant_id', '=', tenantId).limit(1).executeTakeFirst();
    if (any) return { created: false };
    const configured = this.platform.config.adminApiKey || undefined;
    const key = await this.create(
      tenantId,
      { name: 'admin (created on first start)', scopes: ['*'], roles: ['admin', PLATFORM_ADMIN] },
      undefined,
      { secret: configured, tx },
    );
    return { created: true, key: configured ? undefined : key.key };
  }
}
