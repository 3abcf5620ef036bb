/**
 * Loam's Cedar vocabulary: the schema every tenant policy is validated against, and the mapping
 * of an `AccessRequest` (principal, `service:verb`, resource, context) onto Cedar entities.
 */
import { createRequire } from 'node:module';
import type * as CedarWasm from '@cedar-policy/cedar-wasm/nodejs';
import type { AccessRequest } from '../../platform/authz.js';
import type { Principal } from '../../platform/principal.js';

// The Cedar engine (a WebAssembly module compiled when loaded, ~0.7 s) is loaded on its first
// use, i.e. when a tenant has policies or one is validated, not at start. Its Node build is
// CommonJS, so a synchronous require yields the same module instance an import would.
const require = createRequire(import.meta.url);
let cedarModule: typeof CedarWasm | undefined;
const loadCedar = (): typeof CedarWasm => {
  cedarModule ??= require('@cedar-policy/cedar-wasm/nodejs') as typeof CedarWasm;
  return cedarModule;
};
export const cedar: typeof CedarWasm = new Proxy({} as typeof CedarWasm, {
  get: (_target, name) => loadCedar()[name as keyof typeof CedarWasm],
});

export const CEDAR_NAMESPACE = 'Loam';

/** Resource entity types; any other `resource.type` becomes `Loam::Resource`. */
export const RESOURCE_TYPES = [
  'Dataset',
  'Version',
  'Record',
  'Content',
  'Prompt',
  'File',
  'Document',
  'Webhook',
  'Session',
  'Policy',
  'Key',
  'Credential',
  'AuditLog',
  'Account',
  'Resource',
] as const;

/** Cedar actions: the verb of the `service:verb` action a module asks for (see `cedarAction`). */
export const CEDAR_ACTIONS = ['read', 'write', 'delete', 'admin'] as const;

const PRINCIPAL_TYPES: Record<Principal['kind'], string> = { user: 'User', client: 'Client', api_key: 'ApiKey' };

export const CEDAR_SCHEMA = `// Loam's Cedar schema. Every policy is validated against it (strict mode) when written.
namespace ${CEDAR_NAMESPACE} {
  // Roles a principal holds are its parents: \`principal in Loam::Role::"data_scientist"\`.
  entity Role;

  // Principals. \`role\` is the attribute \`role\` or else the first role ("" when none);
  // \`clearance\` defaults to 0 and \`department\` to "". Every other principal attribute is a tag:
  // \`principal.hasTag("team") && principal.getTag("team") == "ml"\`.
  entity User, Client, ApiKey in [Role] {
    role: String,
    roles: Set<String>,
    department: String,
    clearance: Long,
    tenant: String,
    scopes: Set<String>,
  } tags String;

  // Resources. \`type\` is the module's name for it (dataset, content, …); \`classification\`
  // defaults to "internal" and \`owner\` to "". Other resource attributes are tags.
  entity ${RESOURCE_TYPES.join(', ')} {
    type: String,
    classification: String,
    owner: String,
    tenant: String,
  } tags String;

  // \`time\` is the request time rounded down to the minute (UTC); \`ip\` the client address
  // (0.0.0.0 when unknown); \`scope\` the full action asked for, e.g. "datasets:read".
  action ${CEDAR_ACTIONS.join(', ')} appliesTo {
    principal: [User, Client, ApiKey],
    resource: [${RESOURCE_TYPES.join(', ')}],
    context: { time: datetime, ip: ipaddr, scope: String },
  };
}
`;

/** `datasets:read` → `read`; `…:delete` → `delete`; `…:admin` → `admin`; any other verb → `write`. */
export function cedarAction(action: string): (typeof CEDAR_ACTIONS)[number] {
  const verb = action.includes(':') ? action.slice(action.indexOf(':') + 1) : action;
  if (verb === 'read' || verb === 'delete' || verb === 'admin') return verb;
  return 'write';
}

/** `dataset` / `Dataset` → `Dataset`, `audit_log` / `AuditLog` → `AuditLog`; unknown types → `Resource`. */
export function cedarResourceType(type: string): string {
  if ((RESOURCE_TYPES as readonly string[]).includes(type)) return type;
  const pascal = type
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1).toLowerCase())
    .join('');
  return (RESOURCE_TYPES as readonly string[]).includes(pascal) ? pascal : 'Resource';
}

const asTagValue = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

function clearanceOf(value: string | undefined): number {
  const n = Number.parseInt(value ?? '', 10);
  return Number.isSafeInteger(n) ? n : 0;
}

/** A Cedar `ip` extension value; an address Cedar cannot read counts as unknown (0.0.0.0). */
function ipValue(ip: unknown): CedarWasm.CedarValueJson {
  const text = typeof ip === 'string' && /^[0-9A-Fa-f:.]{2,45}$/.test(ip) ? ip.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1') : '';
  return { __extn: { fn: 'ip', arg: text || '0.0.0.0' } };
}

const ns = (type: string) => `${CEDAR_NAMESPACE}::${type}`;

export interface CedarRequest {
  principal: CedarWasm.EntityUidJson;
  action: CedarWasm.EntityUidJson;
  resource: CedarWasm.EntityUidJson;
  context: CedarWasm.Context;
  entities: CedarWasm.EntityJson[];
}

/** The Cedar request for an access request at `nowMs`. Deterministic, so it can key a cache. */
export function toCedarRequest(request: AccessRequest, nowMs: number): CedarRequest {
  const { principal, resource } = request;
  const pAttrs = principal.attributes ?? {};
  const roles = [...new Set(principal.roles)];
  const principalUid = { type: ns(PRINCIPAL_TYPES[principal.kind] ?? 'User'), id: principal.subject };
  const resourceUid = { type: ns(cedarResourceType(resource.type)), id: resource.id };
  const { classification, owner, ...resourceTags } = resource.attributes ?? {};
  const minute = Math.floor(nowMs / 60_000) * 60_000;
  return {
    principal: principalUid,
    action: { type: ns('Action'), id: cedarAction(request.action) },
    resource: resourceUid,
    context: {
      time: { __extn: { fn: 'datetime', arg: new Date(minute).toISOString().replace(/\.\d{3}Z$/, 'Z') } },
      ip: ipValue(request.context?.ip),
      scope: request.action,
    },
    entities: [
      {
        uid: principalUid,
        attrs: {
          role: pAttrs.role ?? roles[0] ?? '',
          roles,
          department: pAttrs.department ?? '',
          clearance: clearanceOf(pAttrs.clearance),
          tenant: principal.tenantId,
          scopes: principal.scopes,
        },
        parents: roles.map((r) => ({ type: ns('Role'), id: r })),
        tags: Object.fromEntries(Object.entries(pAttrs).map(([k, v]) => [k, asTagValue(v)])),
      },
      ...roles.map((r) => ({ uid: { type: ns('Role'), id: r }, attrs: {}, parents: [] })),
      {
        uid: resourceUid,
        attrs: {
          type: resource.type,
          classification: typeof classification === 'string' ? classification : 'internal',
          owner: typeof owner === 'string' ? owner : '',
          tenant: resource.tenantId,
        },
        parents: [],
        tags: Object.fromEntries(
          Object.entries(resourceTags)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => [k, asTagValue(v)]),
        ),
      },
    ],
  };
}

/**
 * Cedar's diagnostics as one readable line: message, offending text, parser hint and help. The
 * validator repeats a message per entity type a policy may apply to; those are merged.
 */
export function cedarMessage(errors: CedarWasm.DetailedError[], source?: string): string {
  const groups = new Map<string, { text: string; types: string[] }>();
  for (const e of errors) {
    const at = e.sourceLocations?.[0];
    const snippet = source && at && at.end > at.start ? ` at \`${source.slice(at.start, Math.min(at.end, at.start + 80))}\`` : '';
    const hint = at?.label ? ` (${at.label})` : '';
    const text = `${e.message}${snippet}${hint}${e.help ? ` (${e.help})` : ''}`;
    const type = /entity type (`[^`]+`)/.exec(text)?.[1];
    const key = type ? text.replace(type, '*') : text;
    const group = groups.get(key);
    if (group && type) group.types.push(type);
    else if (!group) groups.set(key, { text, types: type ? [type] : [] });
  }
  return [...groups.values()]
    .map(({ text, types }) => (types.length > 1 ? text.replace(`entity type ${types[0]}`, `entity types ${types.join(', ')}`) : text))
    .join('; ');
}
