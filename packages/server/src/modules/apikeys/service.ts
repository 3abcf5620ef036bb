import type { ApiKey, ApiKeyWithSecret, CreateApiKey } from '@loam/api';
import type { Selectable } from 'kysely';
import type { ResourceRef } from '../../platform/access.js';
import type { RequestContext } from '../../platform/context.js';
import { randomToken, sha256 } from '../../platform/crypto/index.js';
import { toJson } from '../../platform/db/index.js';
import { AppError, notFound } from '../../platform/errors.js';
import type { PageRequest } from '../../platform/http/pagination.js';
import type { Executor, Platform } from '../../platform/index.js';
import { PLATFORM_ADMIN, type Principal, hasScope } from '../../platform/principal.js';
import { VerifiedKeyCache } from './cache.js';
import { ApiKeyStore, toApiKey } from './store.js';
import type { ApiKeysTable } from './tables.js';

export const API_KEY_PREFIX = 'loam_sk_';
const LAST_USED_EVERY_MS = 60_000;
/** The action every API-key operation is checked with: the scope its routes require. */
const ADMIN = 'auth:admin';

/** Who changed a key, for the audit log (absent for keys created at bootstrap). */
const actorOf = (p?: Principal) => (p ? { actor: p.subject, actor_kind: p.kind } : {});

/** An API key as the access check sees it (Cedar `Loam::Credential`, tag `kind` = "api_key"). */
const keyResource = (tenantId: string, id: string, owner?: string | null): ResourceRef => ({
  type: 'Credential',
  id,
  tenantId,
  attributes: { kind: 'api_key', ...(owner ? { owner } : {}) },
});

/**
 * API keys: random secrets shown once, stored as SHA-256 hashes (the secret has ~238 bits of
 * entropy, so a fast hash is safe and keeps authentication cheap), owned by a tenant.
 */
export class ApiKeyService {
  private readonly lastUsedWritten = new Map<string, number>();
  private readonly store: ApiKeyStore;
  private readonly verified: VerifiedKeyCache;

  constructor(private readonly platform: Platform) {
    this.store = new ApiKeyStore(platform.database.db);
    this.verified = new VerifiedKeyCache(platform.config.apiKeyCacheMs);
  }

  private newSecret(): { key: string; prefix: string; hash: string } {
    const key = API_KEY_PREFIX + randomToken(this.platform.random, 40);
    return { key, prefix: key.slice(0, API_KEY_PREFIX.length + 4), hash: sha256(key) };
  }

  /**
   * Creates a key. For a caller (`ctx`), in the caller's tenant, checked with the access check,
   * and never granting more than the caller holds; for a bare tenant id (bootstrap, tests,
   * background work), with no creator.
   */
  async create(
    caller: RequestContext | string,
    input: CreateApiKey,
    opts: { secret?: string; tx?: Executor } = {},
  ): Promise<ApiKeyWithSecret> {
    const ctx = typeof caller === 'string' ? undefined : caller;
    const tenantId = ctx ? ctx.tenantId : (caller as string);
    const creator = ctx?.principal;
    const id = this.platform.ids.new('key');
    const roles = input.roles ?? [];
    const scopes = [...new Set(input.scopes ?? [])];
    if (ctx) {
      await this.platform.access.check(ctx, ADMIN, keyResource(tenantId, id, ctx.principal.subject));
      this.assertWithinCreator(ctx.principal, scopes, roles);
    }
    const expiresAt = input.expires_at ? Date.parse(input.expires_at) : null;
    if (expiresAt !== null && expiresAt <= this.platform.clock.now())
      throw new AppError('validation_error', 400, 'expires_at must be in the future', [
        { field: 'expires_at', code: 'out_of_range', message: 'expires_at must be in the future' },
      ]);
    const secret = opts.secret
      ? { key: opts.secret, prefix: opts.secret.slice(0, Math.min(12, opts.secret.length - 4)), hash: sha256(opts.secret) }
      : this.newSecret();
    const now = this.platform.clock.now();
    const write = async (tx: Executor) => {
      const row = await this.store.insert(tx, {
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
      });
      await this.platform.events.emit(tx, 'apikey.created', id, { id, name: input.name, scopes, roles, ...actorOf(creator) }, { tenantId });
      return row;
    };
    const row = opts.tx ? await write(opts.tx) : await this.platform.transaction(write);
    return { ...toApiKey(row), key: secret.key };
  }

  /** A key cannot grant more than its creator holds. */
  private assertWithinCreator(creator: Principal, scopes: string[], roles: string[]): void {
    const tooBroad = scopes.filter((s) => !hasScope(creator, s));
    const rolesNotHeld = roles.filter((r) => !creator.roles.includes(r) && !creator.roles.includes('admin'));
    if (roles.includes(PLATFORM_ADMIN) && !creator.roles.includes(PLATFORM_ADMIN)) rolesNotHeld.push(PLATFORM_ADMIN);
    if (tooBroad.length || rolesNotHeld.length)
      throw new AppError('forbidden', 403, `A key cannot grant more than its creator holds: ${[...tooBroad, ...rolesNotHeld].join(', ')}`);
  }

  /** The caller's tenant's keys (the collection is checked as a whole). */
  async list(ctx: RequestContext, page: PageRequest) {
    await this.platform.access.check(ctx, ADMIN, keyResource(ctx.tenantId, '*'));
    const { items, pagination } = await this.store.page(ctx.tenantId, page, this.platform.signer);
    return { items: items.map(toApiKey), pagination };
  }

  async get(ctx: RequestContext, id: string): Promise<ApiKey> {
    return toApiKey(await this.load(ctx, id));
  }

  /** The key `id` of the caller's tenant, checked for `auth:admin`; 404 when there is none. */
  private async load(ctx: RequestContext, id: string): Promise<Selectable<ApiKeysTable>> {
    const row = await this.store.get(this.platform.database.db, ctx.tenantId, id);
    if (!row) throw notFound('API key');
    await this.platform.access.check(ctx, ADMIN, keyResource(row.tenant_id, row.id, row.created_by));
    return row;
  }

  /** Revokes at once: the next request with the key is refused (on other instances within the key cache's TTL). Idempotent. */
  async revoke(ctx: RequestContext, id: string): Promise<void> {
    // Checked before the transaction, so a denial's `access.denied` event is not rolled back with it.
    await this.load(ctx, id);
    await this.platform.transaction(async (tx) => {
      if (!(await this.store.revoke(tx, ctx.tenantId, id, this.platform.clock.now()))) return; // already revoked
      await this.platform.events.emit(tx, 'apikey.revoked', id, { id, ...actorOf(ctx.principal) }, { tenantId: ctx.tenantId });
    });
    this.verified.forget(id);
  }

  /** Replaces the secret; the old one stops working at once (on other instances within the key cache's TTL). */
  async rotate(ctx: RequestContext, id: string): Promise<ApiKeyWithSecret> {
    await this.load(ctx, id);
    const secret = this.newSecret();
    const row = await this.platform.transaction(async (tx) => {
      const updated = await this.store.replaceSecret(tx, ctx.tenantId, id, secret); // none when revoked
      if (!updated) throw notFound('API key');
      await this.platform.events.emit(tx, 'apikey.rotated', id, { id, ...actorOf(ctx.principal) }, { tenantId: ctx.tenantId });
      return updated;
    });
    this.verified.forget(id);
    return { ...toApiKey(row), key: secret.key };
  }

  /**
   * The bearer authenticator for API keys; answers null at once (no promise) for other tokens,
   * and the principal at once for a key verified within `LOAM_API_KEY_CACHE_MS`.
   */
  authenticate = (token: string): Principal | null | Promise<Principal | null> => {
    if (!token.startsWith(API_KEY_PREFIX) && !this.isCustomKeyCandidate(token)) return null;
    const hash = sha256(token);
    const now = this.platform.clock.now();
    const hit = this.verified.get(hash, now);
    if (hit) {
      this.touch(hit.principal.tenantId, hit.principal.subject, now);
      return hit.principal;
    }
    return this.lookup(hash);
  };

  private async lookup(hash: string): Promise<Principal | null> {
    const generation = this.verified.generation;
    const key = await this.store.findByHash(hash);
    if (!key) return null;
    const now = this.platform.clock.now();
    if (key.revokedAt != null || (key.expiresAt != null && key.expiresAt <= now)) return null;
    this.touch(key.tenantId, key.id, now);
    const principal: Principal = {
      tenantId: key.tenantId,
      subject: key.id,
      kind: 'api_key',
      roles: key.roles,
      scopes: key.scopes,
      credentialId: key.id,
    };
    this.verified.put(hash, { principal, expiresAt: key.expiresAt }, now, generation);
    return principal;
  }

  /** Operator-chosen admin keys (LOAM_ADMIN_API_KEY) need not carry our prefix; JWTs have two dots. */
  private isCustomKeyCandidate(token: string): boolean {
    // Two dots (counted without splitting: this runs for every bearer token, JWTs included).
    const first = token.indexOf('.');
    const second = first < 0 ? -1 : token.indexOf('.', first + 1);
    return second < 0 || token.indexOf('.', second + 1) >= 0;
  }

  /** Records `last_used_at`, at most once a minute per key so authentication stays read-only. */
  private touch(tenantId: string, id: string, now: number): void {
    const last = this.lastUsedWritten.get(id) ?? 0;
    if (now - last < LAST_USED_EVERY_MS) return;
    this.lastUsedWritten.set(id, now);
    this.store.touch(tenantId, id, now).catch((err) => this.platform.log.warn({ err }, 'could not record api key use'));
  }

  /**
   * On first start (no key in the default tenant yet), creates the admin key: the configured
   * LOAM_ADMIN_API_KEY, or a generated one that is returned so the caller can print it once.
   */
  async bootstrapAdmin(tx: Executor, tenantId: string): Promise<{ created: boolean; key?: string }> {
    if (await this.store.hasAny(tx, tenantId)) return { created: false };
    const configured = this.platform.config.adminApiKey || undefined;
    const key = await this.create(
      tenantId,
      { name: 'admin (created on first start)', scopes: ['*'], roles: ['admin', PLATFORM_ADMIN] },
      { secret: configured, tx },
    );
    return { created: true, key: configured ? undefined : key.key };
  }
}
