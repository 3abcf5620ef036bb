import { LRUCache } from 'lru-cache';
import type { AccessRequest, Authorizer, Decision } from '../../platform/authz.js';
import type { Logger } from 'pino';

export interface OpaOptions {
  /** The OPA server, e.g. `http://127.0.0.1:8181`. */
  url: string;
  /** The document asked, e.g. `loam/authz/allow`: `POST <url>/v1/data/<path>`. */
  path: string;
  timeoutMs: number;
  /** Decisions are reused this long per input (0: ask every time). */
  cacheTtlMs: number;
  cacheSize: number;
  /** The platform clock (cache expiry follows it). */
  now: () => number;
  log: Pick<Logger, 'warn'>;
}

/** The `input` OPA gets: who, what, on which resource, in which context (request time excluded, so it caches). */
export function opaInput({ principal: p, action, resource: r, context }: AccessRequest) {
  return {
    subject: { id: p.subject, kind: p.kind, tenant_id: p.tenantId, roles: p.roles, scopes: p.scopes, attributes: p.attributes ?? {} },
    resource: { type: r.type, id: r.id, tenant_id: r.tenantId, attributes: r.attributes ?? {} },
    action,
    context: context ?? {},
  };
}

/**
 * The external policy engine beside the embedded one (the knowledge-base gateway's flow): a request
 * the inner authorizer (scopes, roles, Cedar) allows is also put to Open Policy Agent's Data API,
 * and allowed only if OPA allows it too. An undefined document, an unexpected answer, an error
 * status, a timeout or a refused connection deny (default deny). Answers are cached for
 * `cacheTtlMs` per input; failures are not.
 */
export class OpaAuthorizer implements Authorizer {
  private readonly cache: LRUCache<string, Decision> | undefined;
  private readonly endpoint: string;
  readonly stats = { calls: 0, cacheHits: 0 };

  constructor(
    private readonly inner: Authorizer,
    private readonly opts: OpaOptions,
  ) {
    this.endpoint = `${opts.url.replace(/\/+$/, '')}/v1/data/${opts.path.replace(/^\/+|\/+$/g, '')}`;
    this.cache =
      opts.cacheTtlMs > 0
        ? new LRUCache({ max: Math.max(1, opts.cacheSize), ttl: opts.cacheTtlMs, ttlResolution: 0, perf: { now: opts.now } })
        : undefined;
  }

  async authorize(request: AccessRequest): Promise<Decision> {
    const decision = await this.inner.authorize(request);
    if (!decision.allowed) return decision;
    const opa = await this.ask(request);
    return opa.allowed ? decision : { ...opa, policyIds: decision.policyIds };
  }

  private async ask(request: AccessRequest): Promise<Decision> {
    const input = opaInput(request);
    const key = JSON.stringify(input);
    const cached = this.cache?.get(key);
    if (cached) {
      this.stats.cacheHits++;
      return cached;
    }
    this.stats.calls++;
    let body: unknown;
    try {
      const res = await fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ input }),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      if (!res.ok) throw new Error(`status ${res.status}`);
      body = await res.json();
    } catch (err) {
      const message = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${this.opts.timeoutMs} ms` : String(err);
      this.opts.log.warn({ endpoint: this.endpoint, message }, 'OPA could not be asked; denied');
      return { allowed: false, policyIds: [], reason: `OPA unreachable (${message})` };
    }
    const decision = this.decide(body);
    this.cache?.set(key, decision);
    return decision;
  }

  /** `{result: true}` or `{result: {allow: true}}` allows; anything else denies, with OPA's `reasons` if it gives some. */
  private decide(body: unknown): Decision {
    const result = (body as { result?: unknown } | null)?.result;
    const obj =
      typeof result === 'object' && result !== null ? (result as { allow?: unknown; reasons?: unknown; reason?: unknown }) : undefined;
    const allowed = result === true || obj?.allow === true;
    if (allowed) return { allowed: true, policyIds: [] };
    const reasons = Array.isArray(obj?.reasons)
      ? obj.reasons.filter((r) => typeof r === 'string')
      : typeof obj?.reason === 'string'
        ? [obj.reason]
        : [];
    const why = result === undefined ? 'the OPA document is undefined' : reasons.length > 0 ? reasons.join('; ') : 'OPA denied';
    return { allowed: false, policyIds: [], reason: `denied by OPA: ${why}` };
  }
}
