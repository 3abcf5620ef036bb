import { type Static, Type } from '@sinclair/typebox';

/** A tenant id an operator may create: lower-case letters, digits and dashes, 2–63 characters. */
export const TENANT_ID_PATTERN = '^[a-z0-9][a-z0-9-]{1,62}$';

/** The rate-limit tiers of the /api/v1 contract (`professional` is accepted as `standard`). */
export const TenantTier = Type.Union([
  Type.Literal('free'),
  Type.Literal('standard'),
  Type.Literal('professional'),
  Type.Literal('enterprise'),
]);
export type TenantTier = Static<typeof TenantTier>;

export const TenantStatus = Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('erasing')]);
export type TenantStatus = Static<typeof TenantStatus>;

// Null first: with type coercion on, the integer branch would read null as 0.
const limit = (description: string) => Type.Optional(Type.Union([Type.Null(), Type.Integer({ minimum: 0, description })]));

/** Per-tenant limits; absent or null: unlimited. */
export const TenantQuotas = Type.Object(
  {
    storage_bytes: limit('Bytes of stored objects'),
    content_items: limit('Content items'),
    prompts: limit('Prompts'),
    datasets: limit('Datasets'),
    records: limit('Dataset records'),
    log_volume: limit('Audit-log entries per day (recorded; reported in usage)'),
  },
  { additionalProperties: false },
);
export type TenantQuotas = Static<typeof TenantQuotas>;

export const Tenant = Type.Object({
  id: Type.String(),
  name: Type.String(),
  tier: Type.String(),
  status: TenantStatus,
  quotas: TenantQuotas,
  created_at: Type.String(),
  updated_at: Type.String(),
});
export type Tenant = Static<typeof Tenant>;

export const CreateTenant = Type.Object(
  {
    id: Type.String({ pattern: TENANT_ID_PATTERN, description: 'Lower-case letters, digits and dashes (2–63)' }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    tier: Type.Optional(TenantTier),
    quotas: Type.Optional(TenantQuotas),
  },
  { additionalProperties: false },
);
export type CreateTenant = Static<typeof CreateTenant>;

export const UpdateTenant = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    tier: Type.Optional(TenantTier),
    quotas: Type.Optional(TenantQuotas),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateTenant = Static<typeof UpdateTenant>;

export const TenantParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
export type TenantParams = Static<typeof TenantParams>;

export const TenantUsageQuery = Type.Object({
  days: Type.Optional(Type.Integer({ minimum: 1, maximum: 366, default: 30, description: 'Days back from today (UTC)' })),
});
export type TenantUsageQuery = Static<typeof TenantUsageQuery>;

export const TenantUsageDay = Type.Object({
  day: Type.String({ description: 'YYYY-MM-DD (UTC)' }),
  requests: Type.Integer(),
  tokens_generated: Type.Integer(),
  tokens_input: Type.Integer(),
  anonymizations: Type.Integer(),
});

export const TenantUsage = Type.Object({
  tenant_id: Type.String(),
  storage_bytes: Type.Integer(),
  content_items: Type.Integer(),
  prompts: Type.Integer(),
  datasets: Type.Integer(),
  records: Type.Integer(),
  quotas: TenantQuotas,
  days: Type.Array(TenantUsageDay),
});
export type TenantUsage = Static<typeof TenantUsage>;

/** What an erasure job removed (its result). */
export const TenantErasureReport = Type.Object({
  tenant_id: Type.String(),
  data_keys_destroyed: Type.Integer(),
  blobs_deleted: Type.Integer(),
  rows_deleted: Type.Integer(),
  tables: Type.Record(Type.String(), Type.Integer()),
  kept: Type.Array(Type.String(), { description: 'Tables deliberately kept (the append-only audit log)' }),
  finished_at: Type.String(),
});
export type TenantErasureReport = Static<typeof TenantErasureReport>;

export const TenantErasure = Type.Object({
  tenant_id: Type.String(),
  status: Type.Literal('erasing'),
  job_id: Type.String(),
});
export type TenantErasure = Static<typeof TenantErasure>;
