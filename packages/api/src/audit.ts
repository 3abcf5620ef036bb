import { type Static, Type } from '@sinclair/typebox';
import { ListQuery } from './common.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([Type.Null(), t]);

/** One append-only, hash-chained record of something security-relevant that happened. */
export const AuditEntry = Type.Object({
  id: Type.String(),
  seq: Type.Integer({ description: 'Position in the tenant chain, from 1, without gaps' }),
  event_id: Type.String({ description: 'The CloudEvent this entry records (each is recorded once)' }),
  time: Type.String({ description: 'When it happened (RFC 3339)' }),
  action: Type.String({ description: 'The event type, e.g. user.logged_in, access.denied' }),
  actor: Nullable(Type.String()),
  actor_kind: Nullable(Type.String()),
  resource_type: Nullable(Type.String()),
  resource_id: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  decision: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
  policy_ids: Type.Array(Type.String()),
  reason: Nullable(Type.String()),
  details: Type.Record(Type.String(), Type.Unknown(), { description: 'The event data' }),
  tenant_id: Type.String(),
  prev_hash: Type.String(),
  hash: Type.String({ description: 'SHA-256 (hex) over the canonical JSON of the entry and prev_hash' }),
});
export type AuditEntry = Static<typeof AuditEntry>;

export const AuditQuery = Type.Object({
  ...ListQuery.properties,
  actor: Type.Optional(Type.String({ maxLength: 200 })),
  action: Type.Optional(Type.String({ maxLength: 200, description: 'An event type, or a family ending in `*` (`user.*`)' })),
  resource: Type.Optional(Type.String({ maxLength: 200, description: 'A resource id' })),
  resource_type: Type.Optional(Type.String({ maxLength: 100 })),
  decision: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('deny')])),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Inclusive lower bound on `time`' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Exclusive upper bound on `time`' })),
  sort: Type.Optional(
    Type.Union([Type.Literal('time'), Type.Literal('-time')], { default: 'time', description: 'Oldest first, or newest first' }),
  ),
});
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditVerifyResult = Type.Object({
  valid: Type.Boolean(),
  checked: Type.Integer({ description: 'Entries checked before stopping' }),
  first_broken: Type.Optional(
    Type.Object({
      id: Type.String(),
      seq: Type.Integer(),
      event_id: Type.String(),
      reason: Type.Union([Type.Literal('hash_mismatch'), Type.Literal('prev_hash_mismatch'), Type.Literal('sequence_gap')]),
    }),
  ),
  head: Type.Union([Type.Null(), Type.Object({ seq: Type.Integer(), hash: Type.String() })], {
    description: 'The last entry of the chain: keep it elsewhere to detect truncation later',
  }),
});
export type AuditVerifyResult = Static<typeof AuditVerifyResult>;
