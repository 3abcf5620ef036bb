import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { type HandlerContext, createContextKey, createContextValues } from '@connectrpc/connect';
import type { RequestContext } from '../../platform/context.js';
import { AppError } from '../../platform/errors.js';
import { TIERS } from '../../platform/http/server.js';
import type { Platform } from '../../platform/module.js';
import { type Principal, requireScopes } from '../../platform/principal.js';

/** The client's address, set per request by the adapters (`contextValues`). */
export const peerAddress = createContextKey<string>('', { description: 'client address' });

/**
 * Whether the client reset the call's HTTP/2 stream (cancelled, or its deadline passed). A reset
 * can end the request's messages as if the client had finished sending them, before the call's
 * signal aborts: a client stream checks this at its end rather than commit a cut-off upload.
 */
export const clientReset = createContextKey<() => boolean>(() => false, { description: 'client reset the stream' });

/** The context values of a call from its Node request (either adapter). */
export function callValues(req: IncomingMessage | Http2ServerRequest, ip: string) {
  return createContextValues()
    .set(peerAddress, ip)
    .set(clientReset, () => req.aborted || ('stream' in req && (req.stream.destroyed || (req.stream.rstCode ?? 0) > 0)));
}

const BEARER = /^bearer\s+/i;

/** `x-api-key: <key>` or `authorization: Bearer <token>` from the call's metadata (as on REST). */
function credentialOf(headers: Headers): string | undefined {
  const apiKey = headers.get('x-api-key')?.trim();
  if (apiKey) return apiKey;
  const auth = headers.get('authorization');
  const scheme = auth ? BEARER.exec(auth) : null;
  return scheme ? auth?.slice(scheme[0].length).trim() || undefined : undefined;
}

const invalidCredential = () => new AppError('invalid_token', 401, 'The credential is invalid, expired or revoked');

/**
 * The RequestContext of a gRPC/Connect call, as the REST hook builds it: the credential resolved
 * by the platform's authenticators (API keys, Loam JWTs, external OIDC tokens), the scopes the
 * RPC needs, then the tenant's rate-limit tier (RESOURCE_EXHAUSTED with retry info beyond).
 * Services then run the same access check as for REST.
 */
export class CallContexts {
  private counter = 0;
  private readonly prefix: string;

  constructor(
    private readonly platform: Platform,
    private readonly tierOf: (tenantId: string) => Promise<string>,
  ) {
    this.prefix = `req_${platform.random.bytes(8).toString('hex')}g`;
  }

  async of(call: HandlerContext, scopes: readonly string[]): Promise<RequestContext> {
    const ip = call.values.get(peerAddress);
    const token = credentialOf(call.requestHeader);
    if (!token) throw new AppError('unauthorized', 401, 'Send an API key (x-api-key) or a bearer token (authorization) in the metadata');
    let principal: Principal | null = null;
    for (const authenticate of this.platform.authenticators) {
      principal = await authenticate(token);
      if (principal) break;
    }
    if (!principal) {
      await this.spend(`failed-auth|ip:${ip}`, TIERS.free.perMinute);
      throw invalidCredential();
    }
    requireScopes(principal, scopes);
    const tier = TIERS[await this.tierOf(principal.tenantId)] ?? TIERS.free;
    await this.spend(`tier:${principal.tenantId}`, tier.perMinute);
    if (tier.daily) await this.spend(`daily:${principal.tenantId}`, tier.daily);
    const traceparent = call.requestHeader.get('traceparent') ?? undefined;
    return {
      tenantId: principal.tenantId,
      principal,
      requestId: `${this.prefix}${(this.counter++).toString(36)}`,
      ip,
      traceparent,
    };
  }

  /** Takes one token from bucket `key` (shared with REST: the same tenant buckets); a 429 when it is empty. */
  private async spend(key: string, spec: (typeof TIERS)[string]['perMinute']): Promise<void> {
    if (!this.platform.config.rateLimitEnabled) return;
    const r = await this.platform.rateLimiter.take(key, spec);
    if (r.allowed) return;
    const retryAfter = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
    throw new AppError('rate_limited', 429, `Rate limit exceeded: ${r.limit} requests; retry in ${retryAfter} s`, undefined, {
      'retry-after': String(retryAfter),
    });
  }
}
