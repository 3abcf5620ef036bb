import type { FastifyRequest } from 'fastify';
import { type JWTPayload, createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { Platform } from '../../platform/index.js';
import { PLATFORM_ADMIN, type Principal } from '../../platform/principal.js';
import { DEFAULT_TENANT } from '../tenants/service.js';
import { CLOCK_TOLERANCE_SEC, splitScopes } from './claims.js';

/** Asymmetric algorithms only: an external issuer never shares a secret with Loam. */
const EXTERNAL_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const DISCOVERY_RETRY_MS = 30_000;

/**
 * Trust for an external OpenID Connect issuer (LOAM_OIDC_ISSUER): its signing keys come from
 * the `jwks_uri` of its discovery document (cached and refreshed by jose); claims map to a
 * principal — `sub` → subject, `email`, the roles claim (`groups`) → roles, the tenant claim →
 * tenant, `scope`/`scp` → scopes.
 */
export class ExternalIssuer {
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  private discovering: Promise<void> | undefined;
  private failedAt = 0;

  constructor(private readonly platform: Platform) {}

  get issuer(): string {
    return this.platform.config.oidcIssuer;
  }

  private async discover(): Promise<void> {
    const url = `${this.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000), redirect: 'error' });
    if (!res.ok) throw new Error(`OIDC discovery ${url} answered ${res.status}`);
    const meta = (await res.json()) as { issuer?: string; jwks_uri?: string };
    if (meta.issuer !== this.issuer) throw new Error(`OIDC discovery: issuer ${meta.issuer} does not match ${this.issuer}`);
    if (!meta.jwks_uri) throw new Error('OIDC discovery: no jwks_uri');
    this.jwks = createRemoteJWKSet(new URL(meta.jwks_uri), { timeoutDuration: 5_000, cooldownDuration: 30_000 });
  }

  private async keySet() {
    if (this.jwks) return this.jwks;
    if (this.platform.clock.now() - this.failedAt < DISCOVERY_RETRY_MS) return undefined;
    this.discovering ??= this.discover()
      .catch((err) => {
        this.failedAt = this.platform.clock.now();
        this.platform.log.warn({ err: { message: (err as Error).message } }, 'OIDC discovery failed');
      })
      .finally(() => {
        this.discovering = undefined;
      });
    await this.discovering;
    return this.jwks;
  }

  /** The bearer authenticator: null unless the token names the trusted issuer and verifies. */
  authenticate = async (token: string, request?: FastifyRequest): Promise<Principal | null> => {
    if (!this.issuer || token.split('.').length !== 3) return null;
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      return null;
    }
    if (unverified.iss !== this.issuer) return null;
    const jwks = await this.keySet();
    if (!jwks) return null;
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: this.issuer,
        audience: this.platform.config.oidcAudience || undefined,
        algorithms: EXTERNAL_ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SEC,
        requiredClaims: ['sub', 'exp'],
        currentDate: new Date(this.platform.clock.now()),
      });
      return this.principalOf(payload);
    } catch (err) {
      request?.log.debug({ reason: (err as Error).message }, 'external OIDC token refused');
      return null;
    }
  };

  private principalOf(claims: JWTPayload): Principal {
    const { oidcTenantClaim, oidcRolesClaim } = this.platform.config;
    const tenant = claims[oidcTenantClaim];
    const roles = claims[oidcRolesClaim];
    const scope = typeof claims.scope === 'string' ? splitScopes(claims.scope) : Array.isArray(claims.scp) ? claims.scp : [];
    const attributes: Record<string, string> = { issuer: this.issuer };
    for (const key of ['email', 'email_verified', 'name', 'department', 'clearance']) {
      const v = claims[key];
      if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') attributes[key] = String(v);
    }
    return {
      tenantId: typeof tenant === 'string' && tenant ? tenant : DEFAULT_TENANT,
      subject: claims.sub as string,
      kind: 'user',
      // An external issuer administers its tenants, never the whole platform.
      roles: (Array.isArray(roles) ? roles : [roles]).filter((r): r is string => typeof r === 'string' && r !== PLATFORM_ADMIN),
      scopes: scope.filter((s): s is string => typeof s === 'string'),
      credentialId: typeof claims.jti === 'string' ? claims.jti : undefined,
      attributes,
    };
  }
}
