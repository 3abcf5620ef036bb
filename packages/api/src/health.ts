import { type Static, Type } from '@sinclair/typebox';

export const AtriumnHealth = Type.Object({ status: Type.Literal('ok') });
export type AtriumnHealth = Static<typeof AtriumnHealth>;

export const Liveness = Type.Object({ status: Type.Literal('ok') });
/**
 * `GET /readyz`: `ready` (200) when every check passes; `degraded` (200) when only optional
 * dependencies (Redis, NATS) fail and the instance still serves; `not_ready` (503) otherwise.
 */
export const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('degraded'), Type.Literal('not_ready')]),
  checks: Type.Record(Type.String(), Type.Object({ ok: Type.Boolean(), detail: Type.Optional(Type.String()) })),
});
export type Readiness = Static<typeof Readiness>;

export const ComponentHealth = Type.Object({
  name: Type.String(),
  status: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('disabled')]),
  kind: Type.String(),
  version: Type.Optional(Type.String()),
  latency_ms: Type.Optional(Type.Number()),
  detail: Type.Optional(Type.String()),
});
export const AdminHealth = Type.Object({
  status: Type.Union([Type.Literal('up'), Type.Literal('degraded')]),
  version: Type.String(),
  node: Type.String(),
  uptime_s: Type.Number(),
  components: Type.Array(ComponentHealth),
});
export type AdminHealth = Static<typeof AdminHealth>;

/** `GET /api/v1/whoami`: the principal the credential resolves to. */
export const Whoami = Type.Object({
  tenant_id: Type.String(),
  subject: Type.String(),
  kind: Type.String({ description: 'api_key, user or client' }),
  scopes: Type.Array(Type.String()),
  roles: Type.Array(Type.String()),
  credential_id: Type.Union([Type.Null(), Type.String()]),
});
export type Whoami = Static<typeof Whoami>;
