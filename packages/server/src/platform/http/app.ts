import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type {
  FastifyBaseLogger,
  FastifyContextConfig,
  FastifyInstance,
  FastifyRequest,
  FastifySchema,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { Principal } from '../principal.js';
import type { BucketSpec } from '../ratelimit/index.js';

/** What a route requires of its caller. Absent = public. */
export type AuthRequirement = { scopes: readonly string[] } | 'optional';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthRequirement;
    /** The route's token bucket; `false` disables limiting. /api/v1 routes default to the tenant's tier. */
    rateLimit?: BucketSpec | false;
  }
  interface FastifyRequest {
    principal?: Principal;
    /** `performance.now()` when the request arrived. */
    startedAt?: number;
    /** Its OpenTelemetry server span (only when Loam's tracing is on). */
    span?: import('@opentelemetry/api').Span;
  }
  interface FastifyInstance {
    /** Every route registered so far (all methods, all plugins), e.g. for route-walking tests. */
    registeredRoutes(): readonly RegisteredRoute[];
    /**
     * Checks a tenant a platform admin names where the global check cannot see it (a multipart
     * field): 400 malformed, 404 unknown, 403 suspended. Others' ids are left to `contextOf`.
     */
    checkNamedTenant(request: FastifyRequest, tenantId: string | undefined): Promise<void>;
  }
}

export interface RegisteredRoute {
  method: string;
  url: string;
  config: FastifyContextConfig;
  schema?: FastifySchema;
}

export type LoamApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;
