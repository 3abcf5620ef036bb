import type {
  ClientCredential,
  ClientCredentialWithSecret,
  CreateCredential,
  CredentialListQuery,
  TokenResponse,
  UpdateCredential,
} from '@loam/api';
import { randomToken, safeEqual, sha256 } from '../../platform/crypto/index.js';
import { fromJson, toBool, toJson } from '../../platform/db/index.js';
import { rfc3339 } from '../../platform/http/context.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import type { Executor, Platform } from '../../platform/index.js';
import { PLATFORM_ADMIN, type Principal, effectiveTenant, hasScope } from '../../platform/principal.js';
import type { TenantService } from '../tenants/service.js';
import { ACCESS_TOKEN_TTL_SEC, splitScopes } from './claims.js';
import { type RequestContext, actorData } from './context.js';
import { type TokenService, oauthError } from './tokens.js';

const SECRET_LENGTH = 48; // base62: ~285 bits
const CLIENT_ID_LENGTH = 24;
/** Compared against when the client id is unknown, so both failures cost the same. */
const DUMMY_HASH = sha256('loam-unknown-client');

// biome-ignore lint/suspicious/noExplicitAny: a raw client_credentials row
function toCredential(row: any): ClientCredential {
  return {
    id: row.id,
    client_id: row.client_id,
    issued_to: row.issued_to,
    scopes: fromJson<string[]>(row.scopes),
    description: row.description,
    active: toBool(row.active),
    created_at: rfc3339(Number(row.created_at)),
    updated_at: rfc3339(Number(row.updated_at)),
    tenant_id: row.tenant_id,
  };
}

/**
 * Machine credentials for the client_credentials grant. Secrets are random and long, so they
 * are stored as SHA-256 hashes (a slow hash would cap token throughput for no security gain)
 * and compared in constant time.
 */
export class CredentialService {
  constructor(
    private readonly platform: Platform,
    private readonly tokens: TokenService,
    private readonly tenants: TenantService,
  ) {}

  /** Tokens of a credential version; changing or deleting the credential ends them. */
  private sessionOf(row: Record<string, unknown>): string {
    return `${row.id as string}@${Number(row.token_epoch)}`;
  }

  async create(input: CreateCredential, ctx: RequestContext & { principal: Principal }): Promise<ClientCredentialWithSecret> {
    const tenantId = effectiveTenant(ctx.principal, input.tenant_id);
    const scopes = [...new Set(input.scopes ?? [])];
    const tooBroad = scopes.filter((s) => !hasScope(ctx.principal, s));
    if (tooBroad.length > 0)
      throw new AppError('forbidden', 403, `A credential cannot grant more than its creator holds: ${tooBroad.join(', ')}`);
    const secret = randomToken(this.platform.random, SECRET_LENGTH);
    const id = this.platform.ids.new('cred');
    const now = this.platform.clock.now();
    const row = await this.platform.transaction(async (tx) => {
      if (tenantId !== ctx.principal.tenantId) await this.tenants.ensure(tx, tenantId, tenantId, 'free');
      const inserted = await tx
        .insertInto('client_credentials')
        .values({
          id,
          tenant_id: tenantId,
          client_id: randomToken(this.platform.random, CLIENT_ID_LENGTH),
          secret_hash: sha256(secret),
          issued_to: input.issued_to,
          scopes: toJson(scopes),
          description: input.description ?? '',
          active: 1,
          token_epoch: now,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.emit(tx, 'credential.created', inserted, ctx, { issued_to: input.issued_to, scopes });
      return inserted;
    });
    return { ...toCredential(row), client_secret: secret };
  }

  async list(query: CredentialListQuery, principal: Principal): Promise<ClientCredential[]> {
    let q = this.platform.database.db.selectFrom('client_credentials').selectAll().orderBy('id');
    if (query.tenantId || !principal.roles.includes(PLATFORM_ADMIN))
      q = q.where('tenant_id', '=', effectiveTenant(principal, query.tenantId));
    if (query.issuedTo !== undefined) q = q.where('issued_to', '=', query.issuedTo);
    if (query.active !== undefined) q = q.where('active', '=', query.active === 'true' ? 1 : 0);
    const items = (await q.execute()).map(toCredential);
    return query.scope ? items.filter((c) => c.scopes.includes(query.scope as string)) : items;
  }

  private async row(tx: Executor, id: string, principal: Principal) {
    let q = tx.selectFrom('client_credentials').selectAll().where('id', '=', id);
    if (!principal.roles.includes(PLATFORM_ADMIN)) q = q.where('tenant_id', '=', principal.tenantId);
    const row = await q.executeTakeFirst();
    if (!row) throw notFound('Credential');
    return row;
  }

  async get(id: string, principal: Principal): Promise<ClientCredential> {
    return toCredential(await this.row(this.platform.database.db, id, principal));
  }

  /** Applies exactly the keys present; `scopes` replaces. A change of `active` or `scopes` ends the credential's tokens. */
  async update(id: string, patch: UpdateCredential, ctx: RequestContext & { principal: Principal }): Promise<ClientCredential> {
    const scopes = patch.scopes === undefined ? undefined : [...new Set(patch.scopes ?? [])];
    const tooBroad = (scopes ?? []).filter((s) => !hasScope(ctx.principal, s));
    if (tooBroad.length > 0)
      throw new AppError('forbidden', 403, `A credential cannot grant more than its updater holds: ${tooBroad.join(', ')}`);
    const row = await this.platform.transaction(async (tx) => {
      const current = await this.row(tx, id, ctx.principal);
      const now = this.platform.clock.now();
      // Tokens carry the scopes they were granted: a change of scopes or state ends them.
      const endTokens = patch.active !== undefined || scopes !== undefined;
      const changes = {
        ...(endTokens ? { token_epoch: Math.max(now, Number(current.token_epoch) + 1) } : {}),
        ...(patch.active !== undefined ? { active: patch.active ? 1 : 0 } : {}),
        ...(scopes !== undefined ? { scopes: toJson(scopes) } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        updated_at: now,
      };
      const updated = await tx.updateTable('client_credentials').set(changes).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
      if (endTokens) await this.tokens.revokeSession(tx, this.sessionOf(current));
      await this.emit(tx, 'credential.updated', updated, ctx, {
        changed: Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined),
      });
      return updated;
    });
    return toCredential(row);
  }

  async delete(id: string, ctx: RequestContext & { principal: Principal }): Promise<void> {
    await this.platform.transaction(async (tx) => {
      const current = await this.row(tx, id, ctx.principal);
      await tx.deleteFrom('client_credentials').where('id', '=', id).execute();
      await this.tokens.revokeSession(tx, this.sessionOf(current));
      await this.emit(tx, 'credential.deleted', current, ctx, {});
    });
  }

  /** RFC 6749 §4.4. Granted scopes are the requested ones, each within the credential's (default: all of them). */
  async clientCredentialsGrant(
    clientId: string,
    clientSecret: string,
    scope: string | undefined,
    ctx: RequestContext & { basic: boolean },
  ): Promise<TokenResponse> {
    const row = await this.platform.database.db
      .selectFrom('client_credentials')
      .select(['id', 'tenant_id', 'client_id', 'secret_hash', 'scopes', 'active', 'token_epoch'])
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    const secretOk = safeEqual(row?.secret_hash ?? DUMMY_HASH, sha256(clientSecret));
    if (!row || !secretOk || !toBool(row.active))
      throw oauthError(
        'invalid_client',
        401,
        'Client authentication failed',
        ctx.basic ? { 'www-authenticate': 'Basic realm="loam"' } : undefined,
      );
    const allowed = fromJson<string[]>(row.scopes);
    const requested = splitScopes(scope);
    const holder: Principal = { tenantId: row.tenant_id, subject: row.client_id, kind: 'client', roles: [], scopes: allowed };
    const outside = requested.filter((s) => !hasScope(holder, s));
    if (outside.length > 0) throw oauthError('invalid_scope', 400, `Scope not granted to this client: ${outside.join(' ')}`);
    const granted = requested.length > 0 ? [...new Set(requested)] : allowed;
    const access = await this.tokens.issueAccessToken({
      kind: 'client',
      subject: row.client_id,
      tenantId: row.tenant_id,
      scopes: granted,
      roles: [],
      sid: this.sessionOf(row),
      clientId: row.client_id,
    });
    // A single insert needs no explicit transaction; sparing BEGIN/COMMIT matters at this rate.
    await this.platform.events.emit(
      this.platform.database.db,
      'token.issued',
      row.client_id,
      {
        actor: row.client_id,
        actor_kind: 'client',
        ip: ctx.ip,
        credential_id: row.id,
        client_id: row.client_id,
        grant_type: 'client_credentials',
        jti: access.jti,
        scope: granted.join(' '),
      },
      { tenantId: row.tenant_id },
    );
    this.platform.events.wake();
    return { access_token: access.token, token_type: 'Bearer', expires_in: ACCESS_TOKEN_TTL_SEC, scope: granted.join(' ') };
  }

  private emit(
    tx: Executor,
    type: string,
    // biome-ignore lint/suspicious/noExplicitAny: a raw client_credentials row
    row: any,
    ctx: RequestContext & { principal: Principal },
    extra: Record<string, unknown>,
  ) {
    return this.platform.events.emit(
      tx,
      type,
      row.id,
      {
        ...actorData(ctx, { actor: ctx.principal.subject, kind: ctx.principal.kind }),
        credential_id: row.id,
        client_id: row.client_id,
        ...extra,
      },
      { tenantId: row.tenant_id },
    );
  }
}
