import type { FastifyRequest } from 'fastify';
import { type JWTPayload, SignJWT, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import { randomToken, sha256 } from '../../platform/crypto/index.js';
import { AppError } from '../../platform/errors.js';
import type { Executor, Platform } from '../../platform/index.js';
import type { Principal } from '../../platform/principal.js';
import { type AccessClaims, CLOCK_TOLERANCE_SEC, splitScopes } from './claims.js';
import type { SigningKeyRing } from './keys.js';
import { RevocationList } from './revocations.js';
import { type RefreshTokenRow, TokenStore } from './store/tokens.js';

export type { RefreshTokenRow };

const REQUIRED_CLAIMS = ['sub', 'tenant_id', 'scope', 'jti', 'exp', 'iat', 'nbf'];
export const REFRESH_TOKEN_PREFIX = 'loam_rt_';
/** Tokens whose signature was already checked; bounded, oldest evicted first. */
const VERIFIED_CACHE_SIZE = 10_000;

export interface AccessTokenInput {
  kind: 'user' | 'client';
  subject: string;
  tenantId: string;
  scopes: string[];
  roles: string[];
  sid: string;
  clientId?: string;
  email?: string;
  attributes?: Record<string, string>;
}

export interface IdTokenInput {
  subject: string;
  tenantId: string;
  email: string;
  emailVerified: boolean;
  attributes: Record<string, string>;
  authTime: number;
}

/** Why a token was refused; logged at debug level, never shown to the caller in detail. */
export class TokenRejected extends Error {}

/**
 * Loam's own tokens: signing, strict verification (algorithm allowlist, iss, aud, exp, nbf,
 * 60 s skew, required claims), the revocation denylist and refresh-token families.
 */
export class TokenService {
  readonly revocations: RevocationList;
  private readonly store = new TokenStore();
  /**
   * Clients present the same access token for up to an hour: its signature and claims are
   * checked once, then found here (by its signature; the whole token must match, so any altered
   * byte misses).
   * Time-based claims and revocation are still checked on every use. The principal built from
   * the claims is kept too (frozen: requests share it).
   */
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(
    private readonly platform: Platform,
    readonly keys: SigningKeyRing,
  ) {
    this.revocations = new RevocationList(platform, this.store);
  }

  private get issuer() {
    return this.platform.config.jwtIssuer;
  }
  private get audience() {
    return this.platform.config.jwtAudience;
  }
  private nowSec() {
    return Math.floor(this.platform.clock.now() / 1000);
  }

  async issueAccessToken(input: AccessTokenInput): Promise<{ token: string; jti: string; expiresAt: number }> {
    const { key, header } = await this.keys.signingKey();
    const iat = this.nowSec();
    const exp = iat + this.platform.config.accessTokenTtlSec;
    const jti = this.platform.ids.new('jti');
    const claims: Omit<AccessClaims, 'iss' | 'aud' | 'sub' | 'jti' | 'exp' | 'nbf' | 'iat'> = {
      tenant_id: input.tenantId,
      scope: input.scopes.join(' '),
      roles: input.roles,
      sid: input.sid,
      kind: input.kind,
      token_use: 'access',
      ...(input.clientId ? { client_id: input.clientId } : {}),
      ...(input.email ? { email: input.email } : {}),
      ...(input.attributes && Object.keys(input.attributes).length ? { attributes: input.attributes } : {}),
    };
    const token = await new SignJWT(claims as unknown as JWTPayload)
      .setProtectedHeader(header)
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setSubject(input.subject)
      .setJti(jti)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .sign(key);
    return { token, jti, expiresAt: exp * 1000 };
  }

  /** An OpenID Connect id token: identity only, no `scope`, so it can never pass as an access token. */
  async issueIdToken(input: IdTokenInput): Promise<string> {
    const { key, header } = await this.keys.signingKey();
    const iat = this.nowSec();
    return new SignJWT({
      token_use: 'id',
      tenant_id: input.tenantId,
      email: input.email,
      email_verified: input.emailVerified,
      auth_time: Math.floor(input.authTime / 1000),
      ...input.attributes,
    })
      .setProtectedHeader(header)
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setSubject(input.subject)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.platform.config.accessTokenTtlSec)
      .sign(key);
  }

  /**
   * Verifies a Loam access token. `allowExpired` (logout only) still checks the signature,
   * issuer and audience, so an expired token can end its session. Throws TokenRejected.
   */
  async verifyAccessToken(token: string, opts: { allowExpired?: boolean; checkRevoked?: boolean } = {}): Promise<AccessClaims> {
    const cached = opts.allowExpired ? undefined : this.cached(token);
    if (cached) return this.recheck(token, cached, opts.checkRevoked !== false).claims;
    let payload: JWTPayload;
    let currentDate = new Date(this.platform.clock.now());
    try {
      if (opts.allowExpired) {
        const { exp } = decodeJwt(token);
        if (typeof exp === 'number' && exp * 1000 < currentDate.getTime()) currentDate = new Date((exp - 1) * 1000);
      }
      ({ payload } = await jwtVerify(token, (header) => this.keys.verificationKey(header), {
        algorithms: this.keys.algorithms(),
        issuer: this.issuer,
        audience: this.audience,
        clockTolerance: CLOCK_TOLERANCE_SEC,
        requiredClaims: REQUIRED_CLAIMS,
        currentDate,
      }));
    } catch (err) {
      throw new TokenRejected(err instanceof joseErrors.JOSEError ? `${err.code}: ${err.message}` : (err as Error).message);
    }
    const claims = payload as unknown as AccessClaims;
    // jose checks exp and nbf; a token must also not claim to be issued in the future, nor to
    // live longer than Loam's tokens may (a leaked key must not mint decade-long tokens).
    const now = Math.floor(currentDate.getTime() / 1000);
    if (typeof claims.iat !== 'number' || claims.iat > now + CLOCK_TOLERANCE_SEC) throw new TokenRejected('issued in the future');
    if (claims.exp - claims.iat > Math.max(this.platform.config.jwtMaxLifetimeSec, this.platform.config.accessTokenTtlSec))
      throw new TokenRejected('lifetime beyond the maximum');
    if (
      claims.token_use !== 'access' ||
      typeof claims.scope !== 'string' ||
      typeof claims.tenant_id !== 'string' ||
      typeof claims.sid !== 'string' ||
      typeof claims.nbf !== 'number'
    )
      throw new TokenRejected('not an access token');
    const entry: VerifiedToken = {
      token,
      claims,
      principal: freezePrincipal(principalFromClaims(claims)),
      denyIds: [claims.jti, `sid:${claims.sid}`],
    };
    if (opts.checkRevoked !== false && this.revocations.has(entry.denyIds)) throw new TokenRejected('revoked');
    if (!opts.allowExpired) {
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(signatureOf(token), entry);
    }
    return claims;
  }

  /**
   * The cache entry of `token`. Entries are keyed by the signature (a short string to hash on
   * every request, unlike the whole token) and hold the whole token, which must match exactly.
   */
  private cached(token: string): VerifiedToken | undefined {
    const entry = this.verified.get(signatureOf(token));
    return entry?.token === token ? entry : undefined;
  }

  /** A cached token's time bounds (as jose applies them: epoch seconds, 60 s tolerance) and revocation. */
  private recheck(token: string, entry: VerifiedToken, checkRevoked: boolean): VerifiedToken {
    const now = Math.floor(this.platform.clock.now() / 1000);
    if (entry.claims.exp <= now - CLOCK_TOLERANCE_SEC || entry.claims.nbf > now + CLOCK_TOLERANCE_SEC) {
      this.verified.delete(signatureOf(token));
      throw new TokenRejected('expired or not yet valid');
    }
    if (checkRevoked && this.revocations.has(entry.denyIds)) throw new TokenRejected('revoked');
    return entry;
  }

  /**
   * The bearer authenticator for Loam JWTs (three dot-separated parts); null for anything else.
   * A token verified before is answered synchronously from the cache.
   */
  authenticate = (token: string, request?: FastifyRequest): Principal | null | Promise<Principal | null> => {
    const cached = this.cached(token);
    if (cached) {
      try {
        return this.recheck(token, cached, true).principal;
      } catch (err) {
        return refused(request, err);
      }
    }
    if (token.split('.').length !== 3) return null;
    return this.verifyAccessToken(token).then(
      () => (this.cached(token) as VerifiedToken).principal,
      (err) => refused(request, err),
    );
  };

  /** Denylists token ids or sessions (`sid:<id>`) until `expiresAt`, when their tokens are dead anyway. */
  denylist(tx: Executor, ids: string[], expiresAt: number): Promise<void> {
    return this.revocations.add(tx, ids, expiresAt);
  }

  /** Every access token of session `sid` stops working now (they live at most one hour plus skew). */
  async revokeSession(tx: Executor, sid: string): Promise<void> {
    await this.denylist(
      tx,
      [`sid:${sid}`],
      this.platform.clock.now() + (this.platform.config.accessTokenTtlSec + CLOCK_TOLERANCE_SEC) * 1000,
    );
  }

  /** A new opaque refresh token in `familyId` (stored as a SHA-256 hash: it has ~285 bits of entropy). */
  async createRefreshToken(
    tx: Executor,
    user: { id: string; tenantId: string },
    familyId: string,
    familyExpiresAt: number,
  ): Promise<string> {
    const token = REFRESH_TOKEN_PREFIX + randomToken(this.platform.random, 48);
    await this.store.insertRefreshToken(tx, {
      id: this.platform.ids.new('rt'),
      family_id: familyId,
      user_id: user.id,
      tenant_id: user.tenantId,
      token_hash: sha256(token),
      expires_at: familyExpiresAt,
      created_at: this.platform.clock.now(),
    });
    return token;
  }

  findRefreshToken(tx: Executor, token: string): Promise<RefreshTokenRow | undefined> {
    return this.store.findRefreshToken(tx, sha256(token));
  }

  /** Marks a refresh token spent; false when another request spent it first (a reuse). */
  async spendRefreshToken(tx: Executor, id: string): Promise<boolean> {
    return this.store.spendRefreshToken(tx, id, this.platform.clock.now());
  }

  /** Ends a refresh-token family and the access tokens issued from it. */
  async revokeFamily(tx: Executor, familyId: string): Promise<void> {
    await this.store.revokeFamily(tx, familyId, this.platform.clock.now());
    await this.revokeSession(tx, familyId);
  }

  /** Ends every session of a user (password change). */
  async revokeUserSessions(tx: Executor, userId: string): Promise<number> {
    const now = this.platform.clock.now();
    const families = await this.store.familiesOf(tx, userId, now - (this.platform.config.accessTokenTtlSec + CLOCK_TOLERANCE_SEC) * 1000);
    for (const familyId of families) await this.revokeFamily(tx, familyId);
    return families.length;
  }

  /** Spent refresh tokens are kept until their family expires (to detect replays); then they can go. */
  deleteExpiredRefreshTokens(tx: Executor, userId: string): Promise<void> {
    return this.store.deleteExpiredRefreshTokens(tx, userId, this.platform.clock.now());
  }
}

export function principalFromClaims(claims: AccessClaims): Principal {
  return {
    tenantId: claims.tenant_id,
    subject: claims.sub,
    kind: claims.kind === 'client' ? 'client' : 'user',
    roles: Array.isArray(claims.roles) ? claims.roles.filter((r) => typeof r === 'string') : [],
    scopes: splitScopes(claims.scope),
    credentialId: claims.jti,
    attributes: {
      ...(claims.attributes ?? {}),
      ...(claims.email ? { email: claims.email } : {}),
      ...(claims.client_id ? { client_id: claims.client_id } : {}),
    },
  };
}

/** RFC 6749 §5.2 error. */
export const oauthError = (code: string, status: number, detail: string, headers?: Record<string, string>) =>
  new AppError(code, status, detail, undefined, headers);

interface VerifiedToken {
  token: string;
  claims: AccessClaims;
  principal: Principal;
  /** The denylist entries that revoke this token: its id and its session. */
  denyIds: readonly string[];
}

/** The JWS signature part of a compact JWT (the whole string if it has no dot). */
const signatureOf = (token: string): string => token.slice(token.lastIndexOf('.') + 1);

function refused(request: FastifyRequest | undefined, err: unknown): null {
  request?.log.debug({ reason: (err as Error).message }, 'bearer token refused');
  return null;
}

/** A principal shared by every request that presents the same token cannot be changed by one of them. */
function freezePrincipal(principal: Principal): Principal {
  Object.freeze(principal.roles);
  Object.freeze(principal.scopes);
  if (principal.attributes) Object.freeze(principal.attributes);
  return Object.freeze(principal);
}
