import { type Static, Type } from '@sinclair/typebox';

/**
 * What each role grants, as scopes. A principal holding a role holds these scopes in addition to
 * its own (`hasScope` on the server reads this table). `admin` grants every scope of its tenant.
 */
export const ROLE_SCOPES: Readonly<Record<string, readonly string[]>> = {
  admin: ['*'],
  data_engineer: [
    'datasets:read',
    'datasets:write',
    'storage:read',
    'storage:write',
    'ingest:read',
    'ingest:write',
    'knowledge:read',
    'knowledge:write',
    'anonymization:use',
    'ai:read',
    'events:admin',
    'events:read',
    'bus:read',
    'bus:write',
    'logs:read',
    'logs:write',
    'llm:generate',
    'llm:read',
  ],
  data_scientist: [
    'datasets:read',
    'storage:read',
    'ingest:read',
    'knowledge:read',
    'anonymization:use',
    'ai:read',
    'ai:write',
    'logs:read',
    'llm:generate',
    'llm:read',
  ],
  auditor: ['audit:read', 'policies:read', 'events:read'],
};

/**
 * Whether a principal with these scopes and roles holds `required` (`service:action`). Granted by
 * the role `admin` or `platform_admin`, the scope `*`, the exact scope, `service:*`, or the bare
 * service name (`storage` ⇒ read and write), held directly or through a role ({@link ROLE_SCOPES}).
 * The server's access check and the console's navigation both decide with it.
 */
export function holdsScope(principal: { scopes: readonly string[]; roles: readonly string[] }, required: string): boolean {
  if (principal.roles.includes('admin') || principal.roles.includes('platform_admin')) return true;
  const [service] = required.split(':');
  const grants = (s: string) => s === '*' || s === required || s === service || s === `${service}:*`;
  if (principal.scopes.some(grants)) return true;
  return principal.roles.some((role) => Object.hasOwn(ROLE_SCOPES, role) && ROLE_SCOPES[role].some(grants));
}

/** A Cedar policy of a tenant: exactly one `permit` or `forbid` statement. */
export const Policy = Type.Object({
  id: Type.String({ description: 'Also the Cedar policy id reported in decisions and audit entries' }),
  name: Type.String(),
  description: Type.String(),
  effect: Type.Union([Type.Literal('permit'), Type.Literal('forbid')]),
  policy: Type.String({ description: 'The Cedar policy text' }),
  version: Type.Integer({ description: 'Starts at 1, incremented by each update' }),
  tenant_id: Type.String(),
  created_by: Type.Union([Type.Null(), Type.String()]),
  created_at: Type.String(),
  updated_at: Type.String(),
});
export type Policy = Static<typeof Policy>;

/** Policy texts are small; 64 KiB leaves room for long attribute lists. */
export const POLICY_TEXT_MAX = 65_536;

const PolicyName = Type.String({ minLength: 1, maxLength: 200 });
const PolicyDescription = Type.String({ maxLength: 2000 });
const PolicyText = Type.String({ minLength: 1, maxLength: POLICY_TEXT_MAX });

export const CreatePolicy = Type.Object(
  { name: PolicyName, description: Type.Optional(PolicyDescription), policy: PolicyText },
  { additionalProperties: false },
);
export type CreatePolicy = Static<typeof CreatePolicy>;

/** PUT: the whole policy (an absent description becomes empty). */
export const ReplacePolicy = CreatePolicy;
export type ReplacePolicy = CreatePolicy;

/** PATCH: only the keys present change. */
export const UpdatePolicy = Type.Object(
  { name: Type.Optional(PolicyName), description: Type.Optional(PolicyDescription), policy: Type.Optional(PolicyText) },
  { additionalProperties: false },
);
export type UpdatePolicy = Static<typeof UpdatePolicy>;

/** The Cedar schema policies are validated against. */
export const PolicySchema = Type.Object({
  cedar_version: Type.String(),
  schema: Type.String({ description: 'Cedar schema, human-readable syntax' }),
  role_scopes: Type.Record(Type.String(), Type.Array(Type.String())),
});
export type PolicySchema = Static<typeof PolicySchema>;
