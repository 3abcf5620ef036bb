import { type Static, type TObject, type TProperties, Type } from '@sinclair/typebox';
import { Timestamp } from './common.js';

/**
 * The event catalogue: every CloudEvent type Loam emits, declared once, with the JSON Schema of
 * its `data`, a version and a retention class. The server, the docs, `GET /api/v1/events/types`
 * and webhook filters all read this list.
 */

/** How long an event is kept: `standard` 7 days, `audit` (and access) 365 days. */
export type RetentionClass = 'standard' | 'audit';
export const RETENTION_DAYS: Record<RetentionClass, number> = { standard: 7, audit: 365 };

export interface EventTypeSpec {
  /** Short name as emitted (`dataset.created`); the CloudEvent `type` is `io.loam.` + this. */
  name: string;
  /** The seed's `<domain>.<entity>.<event>` name, for the data-vault catalogue's types. */
  seedName?: string;
  description: string;
  version: string;
  retention: RetentionClass;
  /** JSON Schema of `data`. */
  schema: TObject;
}

const S = Type.String();
const N = Type.Number();
const I = Type.Integer();
const B = Type.Boolean();
const Nul = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const Ids = Type.Array(Type.String());
const opt = Type.Optional;
/** An open object: the listed properties are documented; producers may add more. */
const data = (props: TProperties) => Type.Object(props, { additionalProperties: true });

const actor = { actor: opt(Nul(S)), actor_kind: opt(S), ip: opt(Nul(S)) };
const dataset = (extra: TProperties = {}) => data({ id: S, ...extra });
const version = (extra: TProperties = {}) => data({ id: S, dataset_id: S, ...extra });
const recordBatch = (extra: TProperties = {}) => data({ dataset_id: S, ids: opt(Ids), count: opt(I), ...extra });
const access = data({
  ...actor,
  action: S,
  resource_type: S,
  resource_id: S,
  decision: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
  policy_ids: Ids,
  reason: opt(Nul(S)),
});
const content = (extra: TProperties = {}) => data({ id: S, sourceType: opt(S), status: opt(S), ...extra });
const user = (extra: TProperties = {}) => data({ ...actor, user_id: Nul(S), ...extra });
const credential = data({ ...actor, credential_id: S, client_id: S });
const webhook = (extra: TProperties = {}) => data({ id: S, url: S, ...extra });

type Row = [name: string, schema: TObject, description: string, opts?: { seed?: string; audit?: boolean }];

const rows: Row[] = [
  // The LLM-Data-Vault catalogue (23 types)
  [
    'dataset.created',
    dataset({ name: S, classification: S, derived_from: Nul(S) }),
    'A dataset was created',
    { seed: 'data.dataset.created' },
  ],
  [
    'dataset.updated',
    dataset({ changed: Type.Array(S) }),
    'A dataset’s metadata, schema or indexes changed',
    { seed: 'data.dataset.updated' },
  ],
  ['dataset.deleted', dataset({ name: S }), 'A dataset was deleted', { seed: 'data.dataset.deleted' }],
  ['dataset.archived', dataset(), 'A dataset was archived (read-only)', { seed: 'data.dataset.archived' }],
  ['dataset.schema_changed', dataset(), 'A dataset’s schema changed', { seed: 'data.dataset.schema_changed' }],
  [
    'dataset.access_granted',
    data({ dataset_id: S, policy_id: S, policy_name: S, ...actor }),
    'A permit policy naming the dataset took effect',
    { seed: 'data.dataset.access_granted', audit: true },
  ],
  [
    'dataset.access_revoked',
    data({ dataset_id: S, policy_id: S, policy_name: S, ...actor }),
    'A permit policy naming the dataset was removed, or a forbid policy naming it took effect',
    { seed: 'data.dataset.access_revoked', audit: true },
  ],
  ['version.created', version({ number: I, record_count: I }), 'A version of a dataset was created', { seed: 'data.version.created' }],
  ['version.finalized', version({ number: I, record_count: I }), 'A version was finalized (immutable)', { seed: 'data.version.finalized' }],
  ['version.deprecated', version({ number: I }), 'A version was deprecated', { seed: 'data.version.deprecated' }],
  ['version.deleted', version({ number: I }), 'A version was deleted', { seed: 'data.version.deleted' }],
  [
    'version.records_added',
    data({ dataset_id: S, version: S, number: I, ids: Ids, count: I }),
    'Records were added to the draft version',
    { seed: 'data.version.records_added' },
  ],
  [
    'version.records_updated',
    data({ dataset_id: S, version: S, number: I, ids: Ids, count: I }),
    'Records of the draft version were changed',
    { seed: 'data.version.records_updated' },
  ],
  ['record.created', recordBatch({ import_id: opt(S) }), 'Records were inserted', { seed: 'data.record.created' }],
  ['record.updated', data({ dataset_id: S, id: S, revision: I }), 'A record was replaced', { seed: 'data.record.updated' }],
  ['record.deleted', recordBatch(), 'Records were deleted', { seed: 'data.record.deleted' }],
  ['record.anonymized', recordBatch(), 'Records were anonymized (on insert or into a derived dataset)', { seed: 'data.record.anonymized' }],
  [
    'record.validated',
    recordBatch({ valid: I, invalid: I }),
    'Records were validated against the dataset’s schema',
    { seed: 'data.record.validated' },
  ],
  [
    'record.exported',
    data({ dataset_id: S, export_id: S, format: S, record_count: I }),
    'Records were exported',
    { seed: 'data.record.exported' },
  ],
  ['access.read', access, 'An audited read was allowed', { seed: 'security.access.read', audit: true }],
  ['access.write', access, 'An audited write was allowed', { seed: 'security.access.write', audit: true }],
  ['access.denied', access, 'An access was denied', { seed: 'security.access.denied', audit: true }],
  [
    'access.policy_evaluated',
    access,
    'A tenant’s Cedar policies decided an access',
    { seed: 'security.access.policy_evaluated', audit: true },
  ],
  // Loam's own
  ['dataset.restored', dataset(), 'An archived dataset was restored'],
  ['version.updated', version({ changed: Type.Array(S) }), 'A version’s name, description or tags changed'],
  ['content.created', content(), 'A content item was created'],
  ['content.updated', content({ changed: opt(Type.Array(S)) }), 'A content item changed'],
  ['content.deleted', content(), 'A content item was deleted'],
  [
    'content.processed',
    content({ title: opt(Nul(S)), wordCount: opt(Type.Union([I, Type.Null()])) }),
    'Text was extracted from a content item',
  ],
  ['content.failed', content({ error: opt(Nul(S)) }), 'Processing a content item failed'],
  ['prompt.created', data({ id: S, name: S, version: I }), 'A prompt was created'],
  ['prompt.updated', data({ id: S, version: I }), 'A prompt got a new version or a label moved'],
  ['prompt.deleted', data({ id: S }), 'A prompt was deleted'],
  ['storage.object_stored', data({ key: S, size: I, content_type: S }), 'An object was stored'],
  ['storage.object_deleted', data({ key: S }), 'An object was deleted'],
  [
    'analytics.recorded',
    data({ id: S, type: S, subject: Nul(S) }),
    'A custom analytics event was recorded (POST /api/v1/analytics/events)',
  ],
  ['tenant.created', data({ id: S, tier: S, actor: S }), 'A platform operator created a tenant', { audit: true }],
  ['tenant.updated', data({ id: S, actor: S, changed: Type.Array(S) }), 'A tenant’s name, tier, quotas or status changed', { audit: true }],
  ['tenant.suspended', data({ id: S, actor: S }), 'A tenant was suspended: its requests get 403', { audit: true }],
  ['tenant.reactivated', data({ id: S, actor: S }), 'A suspended tenant was reactivated', { audit: true }],
  ['tenant.erasure_requested', data({ id: S, actor: S }), 'A tenant’s erasure was requested (a job)', { audit: true }],
  ['tenant.erased', data({ id: S, actor: S }), 'A tenant was erased: keys destroyed, blobs and rows deleted', { audit: true }],
  [
    'knowledge.query.completed',
    data({ id: S, latency_ms: I, input_tokens: I, output_tokens: I, outcome: S }),
    'A knowledge-base question was answered (question, chunks used, model, tokens; the answer only when the collection keeps it)',
  ],
  ['user.signed_up', user(), 'A user signed up', { audit: true }],
  ['user.confirmed', user(), 'A user confirmed their email', { audit: true }],
  ['user.logged_in', user({ session_id: opt(S) }), 'A user logged in', { audit: true }],
  ['user.logged_out', user({ session_id: opt(Nul(S)) }), 'A user logged out', { audit: true }],
  ['user.login_failed', user({ username: opt(S), locked: opt(B) }), 'A login failed', { audit: true }],
  ['user.password_reset', user({ sessions_revoked: opt(I) }), 'A user reset their password', { audit: true }],
  ['user.updated', user({ changed: Type.Array(S) }), 'An administrator changed a user', { audit: true }],
  ['token.issued', data({ ...actor, grant_type: S, jti: opt(S) }), 'An access token was issued', { audit: true }],
  ['token.revoked', data({ ...actor, reason: opt(S) }), 'A token family was revoked', { audit: true }],
  ['credential.created', credential, 'A client credential was created', { audit: true }],
  ['credential.updated', credential, 'A client credential changed', { audit: true }],
  ['credential.deleted', credential, 'A client credential was deleted', { audit: true }],
  ['apikey.created', data({ id: S, name: S, scopes: Ids }), 'An API key was created', { audit: true }],
  ['apikey.revoked', data({ id: S }), 'An API key was revoked', { audit: true }],
  ['apikey.rotated', data({ id: S }), 'An API key’s secret was replaced', { audit: true }],
  ['keys.rotated', data({ provider: S, rewrapped: I }), 'The master key was rotated (data keys rewrapped)', { audit: true }],
  ['policy.created', data({ resource_id: S }), 'A Cedar policy was created', { audit: true }],
  ['policy.updated', data({ resource_id: S }), 'A Cedar policy changed', { audit: true }],
  ['policy.deleted', data({ resource_id: S }), 'A Cedar policy was deleted', { audit: true }],
  ['anonymization.recognizer_created', data({ id: S, name: S, entity_type: S }), 'A custom PII recognizer was created'],
  ['anonymization.recognizer_updated', data({ id: S, fields: Ids }), 'A custom PII recognizer changed'],
  ['anonymization.recognizer_deleted', data({ id: S }), 'A custom PII recognizer was deleted'],
  ['anonymization.deanonymized', data({ ...actor, restored: I }), 'Tokens were restored to their original values', { audit: true }],
  ['anonymization.budget_set', data({ subject: S, epsilon_total: N }), 'A privacy budget was set', { audit: true }],
  ['anonymization.budget_charged', data({ subject: S, epsilon: N, query: S }), 'A privacy budget was charged', { audit: true }],
  ['llm.call.completed', data({ id: opt(S), model: opt(S) }), 'An LLM call through the gateway completed'],
  ['llm.settings.updated', data({ actor: S }), 'A tenant’s LLM gateway settings changed', { audit: true }],
  ['bus.session.deleted', data({ session_id: S }), 'A message-bus session was deleted'],
  ['webhook.disabled', webhook({ reason: S, consecutive_failures: I }), 'A webhook endpoint was disabled (410 Gone or too many failures)'],
  ['webhook.test', data({ webhook_id: S, message: S }), 'Sent only to one endpoint by POST /webhooks/{id}/test (never stored in the log)'],
];

export const EVENT_TYPE_PREFIX = 'io.loam.';

export const EVENT_CATALOGUE: readonly EventTypeSpec[] = rows.map(([name, schema, description, o]) => ({
  name,
  ...(o?.seed ? { seedName: o.seed } : {}),
  description,
  version: '1.0',
  retention: o?.audit || name.startsWith('access.') ? 'audit' : 'standard',
  schema,
}));

const byName = new Map(EVENT_CATALOGUE.map((t) => [t.name, t]));
/** The catalogue entry of a type (`dataset.created` or `io.loam.dataset.created`). */
export const eventTypeSpec = (type: string): EventTypeSpec | undefined =>
  byName.get(type.startsWith(EVENT_TYPE_PREFIX) ? type.slice(EVENT_TYPE_PREFIX.length) : type);

/** Whether `type` matches `pattern`, where `*` stands for any run of characters (`dataset.*`, `*.deleted`). */
export function typeMatches(pattern: string, type: string): boolean {
  const short = type.startsWith(EVENT_TYPE_PREFIX) ? type.slice(EVENT_TYPE_PREFIX.length) : type;
  const p = pattern.startsWith(EVENT_TYPE_PREFIX) ? pattern.slice(EVENT_TYPE_PREFIX.length) : pattern;
  if (!p.includes('*')) return p === short;
  const re = new RegExp(`^${p.split('*').map(escapeRegExp).join('.*')}$`);
  return re.test(short);
}
const escapeRegExp = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/** A pattern of event types: letters, digits, `.`, `_` and `*`. */
export const EVENT_PATTERN = '^[a-z0-9_.*]{1,128}$';

// ---- HTTP ----------------------------------------------------------------------------------

export const EventType = Type.Object({
  type: Type.String({ description: 'The CloudEvent `type`: io.loam.<entity>.<event>' }),
  name: Type.String(),
  seed_name: Type.Optional(Type.String({ description: 'The LLM-Data-Vault name (<domain>.<entity>.<event>)' })),
  description: Type.String(),
  version: Type.String(),
  retention: Type.Union([Type.Literal('standard'), Type.Literal('audit')]),
  retention_days: Type.Integer(),
  dataschema: Type.String(),
  schema: Type.Record(Type.String(), Type.Unknown()),
});
export type EventType = Static<typeof EventType>;

/** A CloudEvents 1.0 event in structured JSON form. */
export const CloudEventSchema = Type.Object({
  specversion: Type.Literal('1.0'),
  id: Type.String(),
  type: Type.String(),
  source: Type.String(),
  subject: Type.String(),
  time: Timestamp,
  datacontenttype: Type.Literal('application/json'),
  dataschema: Type.Optional(Type.String()),
  data: Type.Unknown(),
  tenantid: Type.String(),
  correlationid: Type.Optional(Type.String()),
  traceparent: Type.Optional(Type.String()),
  /** Where the event sits in the log (the stream's `id:`; resume after it). */
  position: Type.Optional(Type.String()),
});
export type CloudEventJson = Static<typeof CloudEventSchema>;

const typeFilter = Type.Optional(
  Type.String({
    maxLength: 1024,
    description: 'Comma-separated event types; `*` matches any run of characters (`dataset.*`, `*.deleted`)',
  }),
);

export const EventsQuery = Type.Object({
  type: typeFilter,
  subject: Type.Optional(Type.String({ maxLength: 512 })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Events at or after this time' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'Events before this time' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
});
export type EventsQuery = Static<typeof EventsQuery>;

export const EventStreamQuery = Type.Object({
  type: typeFilter,
  subject: Type.Optional(Type.String({ maxLength: 512 })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Start with events at or after this time' })),
  after: Type.Optional(Type.String({ maxLength: 64, description: 'A position to start after; Last-Event-ID wins when sent' })),
});
export type EventStreamQuery = Static<typeof EventStreamQuery>;

export const EventParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
export type EventParams = Static<typeof EventParams>;
