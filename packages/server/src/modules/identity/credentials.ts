import type {
  ClientCredential,
  ClientCredentialWithSecret,
  CreateCredential,
  CredentialListQuery,
  TokenResponse,
  UpdateCredential,
} from '@loam/api';
import type { ResourceRef } from '../../platform/access.js';
import type { RequestContext } from '../../platform/context.js';
import { randomToken, safeEqual, sha256 } from '../../platform/crypto/index.js';
import { AppError, notFound } from '../../platform/errors.js';
import type { Executor, Platform } from '../../platform/index.js';
import { PLATFORM_ADMIN, type Principal, hasScope } from '../../platform/principal.js';
import type { TenantService } from '../tenants/service.js';
import { splitScopes } from './claims.js';
import { type Origin, actorData } from './context.js';
import { CredentialStore, type StoredCredential } from './store/credentials.js';
import { type TokenService, oauthError } from './tokens.js';

const SECRET_LENGTH = 48; // base62: ~285 bits
const CLIENT_ID_LENGTH = 24;
/** Compared against when the client id is unknown, so both failures cost the same. */
const DUMMY_HASH = sha256('loam-unknown-client');

/** A credential as the access check sees it (`*`: the tenant's credentials as a whole). */
function credentialResource(tenantId: string, c?: ClientCredential): ResourceRef {
  if (!c) return { type: 'Credential', id: '*', tenantId };
  return { type: 'Credential', id: c.id, tenantId: c.tenant_id, attributes: { issued_to: c.issued_to, active: c.active } };
}

const isPlatformAdmin = (ctx: RequestContext) => ctx.principal.roles.includes(PLATFORM_ADMIN);

/**
 * Machine credentials for the client_credentials grant. Secrets are random and long, so they
 * are stored as SHA-256 hashes (a slow hash would cap token throughput for no security gain)
 * and compared in constant time. Administration is checked as `Loam::Credential` with the
 * action `auth:admin` (Cedar `admin`), the scope the routes require.
 */
export class CredentialService {
  private readonly store = new CredentialStore();

  constructor(
    private readonly platform: Platform,
    private readonly tokens: TokenService,
    private readonly tenants: TenantService,
  ) {}

  /** Tokens of a credential version; changing or deleting the credential ends them. */
  private sessionOf(c: StoredCredential): string {
    return `${c.view.id}@${c.tokenEpoch}`;
  }

  /** `ctx.tenantId` is the tenant it is created in (a platform admin may name another one). */
  async create(ctx: RequestContext, input: CreateCredential): Promise<ClientCredentialWithSecret> {
    const { tenantId } = ctx;
    const scopes = [...new Set(input.scopes ?? [])];
    const tooBroad = scopes.filter((s) => !hasScope(ctx.principal, s));
    if (tooBroad.length > 0)
      throw new AppError('forbidden', 403, `A credential cannot grant more than its creator holds: ${tooBroad.join(', ')}`);
    await this.platform.access.check(ctx, 'auth:admin', credentialResource(tenantId));
    const secret = randomToken(this.platform.random, SECRET_LENGTH);
    const id = this.platform.ids.new('cred');
    const now = this.platform.clock.now();
    const created = await this.platform.transaction(async (tx) => {
      if (tenantId !== ctx.principal.tenantId) await this.tenants.ensure(tx, tenantId, tenantId, 'free');
      const inserted = await this.store.insert(tx, {
        id,
        tenantId,
        clientId: randomToken(this.platform.random, CLIENT_ID_LENGTH),
        secretHash: sha256(secret),
        issuedTo: input.issued_to,
        scopes,
        description: input.description ?? '',
        now,
      });
      await this.emit(tx, 'credential.created', inserted.view, ctx, { issued_to: input.issued_to, scopes });
      return inserted;
    });
    return { ...created.view, client_secret: secret };
  }

  /**
   * The credentials of `ctx.tenantId`; a platform admin who names no tenant (`query.tenantId`)
   * sees every tenant's.
   */
  async list(ctx: RequestContext, query: CredentialListQuery): Promise<ClientCredential[]> {
    await this.platform.access.check(ctx, 'auth:admin', credentialResource(ctx.tenantId));
    const items = await this.store.list(this.platform.database.db, {
      tenantId: query.tenantId || !isPlatformAdmin(ctx) ? ctx.tenantId : undefined,
      issuedTo: query.issuedTo,
      active: query.active === undefined ? undefined : query.active === 'true',
    });
    const views = items.map((c) => c.view);
    return query.scope ? views.filter((c) => c.scopes.includes(query.scope as string)) : views;
  }

  /** The credential after the access check; 404 for another tenant's (a platform admin reaches every tenant's). */
  private async load(ctx: RequestContext, id: string, db: Executor = this.platform.database.db): Promise<StoredCredential> {
    const found = await this.store.find(db, isPlatformAdmin(ctx) ? undefined : ctx.principal.tenantId, id);
    if (!found) throw notFound('Credential');
    await this.platform.access.check(ctx, 'auth:admin', credentialResource(ctx.tenantId, found.view));
    return found;
  }

  async get(ctx: RequestContext, id: string): Promise<ClientCredential> {
    return (await this.load(ctx, id)).view;
  }

  /** Applies exactly the keys present; `scopes` replaces. A change of `active` or `scopes` ends the credential's tokens. */
  async update(ctx: RequestContext, id: string, patch: UpdateCredential): Promise<ClientCredential> {
    const scopes = patch.scopes === undefined ? undefined : [...new Set(patch.scopes ?? [])];
    const tooBroad = (scopes ?? []).filter((s) => !hasScope(ctx.principal, s));
    if (tooBroad.length > 0)
      throw new AppError('forbidden', 403, `A credential cannot grant more than its updater holds: ${tooBroad.join(', ')}`);
    await this.load(ctx, id);
    const updated = await this.platform.transaction(async (tx) => {
      const current = await this.find(tx, ctx, id);
      const now = this.platform.clock.now();
      // Tokens carry the scopes they were granted: a change of scopes or state ends them.
      const endTokens = patch.active !== undefined || scopes !== undefined;
      const next = await this.store.update(tx, current.view.tenant_id, id, {
        ...(endTokens ? { tokenEpoch: Math.max(now, current.tokenEpoch + 1) } : {}),
        active: patch.active,
        scopes,
        description: patch.description,
        updatedAt: now,
      });
      if (endTokens) await this.tokens.revokeSession(tx, this.sessionOf(current));
      await this.emit(tx, 'credential.updated', next.view, ctx, {
        changed: Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined),
      });
      return next;
    });
    return updated.view;
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    await this.load(ctx, id);
    await this.platform.transaction(async (tx) => {
      const current = await this.find(tx, ctx, id);
      await this.store.delete(tx, current.view.tenant_id, id);
      await this.tokens.revokeSession(tx, this.sessionOf(current));
      await this.emit(tx, 'credential.deleted', current.view, ctx, {});
    });
  }

  /** The credential as `tx` sees it (after `load` checked access; 404 if it went meanwhile). */
  private async find(tx: Executor, ctx: RequestContext, id: string): Promise<StoredCredential> {
    const found = await this.store.find(tx, isPlatformAdmin(ctx) ? undefined : ctx.principal.tenantId, id);
    if (!found) throw notFound('Credential');
    return found;
  }

  /** RFC 6749 §4.4. Granted scopes are the requested ones, each within the credential's (default: all of them). */
  async clientCredentialsGrant(
    clientId: string,
    clientSecret: string,
    scope: string | undefined,
    ctx: Origin & { basic: boolean },
  ): Promise<TokenResponse> {
    const found = await this.store.byClientId(this.platform.database.db, clientId);
    const secretOk = safeEqual(found?.secretHash ?? DUMMY_HASH, sha256(clientSecret));
    if (!found || !secretOk || !found.view.active)
      throw oauthError(
        'invalid_client',
        401,
        'Client authentication failed',
        ctx.basic ? { 'www-authenticate': 'Basic realm="loam"' } : undefined,
      );
    const row = found.view;
    const allowed = row.scopes;
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
      sid: this.sessionOf(found),
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
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: this.platform.config.accessTokenTtlSec,
      scope: granted.join(' '),
    };
  }

  private emit(tx: Executor, type: string, row: ClientCredential, ctx: RequestContext, extra: Record<string, unknown>) {
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
