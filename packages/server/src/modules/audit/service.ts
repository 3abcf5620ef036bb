import type { AuditEntry, AuditQuery, AuditVerifyResult } from '@loam/api';
import { sql } from 'kysely';
import { configure } from 'safe-stable-stringify';
import { sha256 } from '../../platform/crypto/index.js';
import type { CloudEvent } from '../../platform/events/outbox.js';
import { EVENT_TYPE_PREFIX } from '../../platform/events/outbox.js';
import { rfc3339 } from '../../platform/http/context.js';
import { notFound } from '../../platform/http/errors.js';
import { pageById } from '../../platform/http/pagination.js';
import type { Platform } from '../../platform/index.js';

/** JSON with keys sorted at every level and no whitespace; throws on values JSON cannot hold. */
const canonicalJson = configure({ deterministic: true, strict: true });

/** `prev_hash` of the first entry of every tenant chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** Event families recorded in full (`user.*`, …), and single types recorded from other families. */
const AUDITED_FAMILIES = new Set(['user', 'token', 'credential', 'apikey', 'policy', 'access', 'dataset']);
const AUDITED_TYPES = new Set(['record.exported']);

/** Event types that record a refusal. */
const DENIALS = /(^access\.denied$|\.login_failed$|\.failed$|\.denied$|\.locked$|\.rejected$)/;

/** Keys never copied into `details`, should an event carry them. */
const SECRET_KEYS = /^(password|new_password|secret|client_secret|access_token|refresh_token|id_token|token|key|code|confirmation_code)$/i;

/** The fields of an entry the hash covers (everything but `id`, `hash` and `recorded_at`). */
interface ChainedFields {
  tenant_id: string;
  seq: number;
  event_id: string;
  time: number;
  action: string;
  actor: string | null;
  actor_kind: string | null;
  resource_type: string | null;
  resource_id: string | null;
  ip: string | null;
  decision: 'allow' | 'deny';
  policy_ids: string[];
  reason: string | null;
  details: Record<string, unknown>;
  prev_hash: string;
}

/**
 * SHA-256 over the canonical JSON (keys sorted at every level, no whitespace) of the entry
 * including the previous entry's hash.
 */
export function entryHash(fields: ChainedFields): string {
  return sha256(canonicalJson(fields));
}

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null);

function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !SECRET_KEYS.test(k))
        .map(([k, v]) => [k, withoutSecrets(v)]),
    );
  return value;
}

const RESOURCE_TYPE_OF_FAMILY: Record<string, string> = { apikey: 'api_key' };

/**
 * Reads who, what, on which resource, from where and with which decision out of an event.
 * Modules help by putting `actor`, `actor_kind`, `ip`, `resource_type`, `resource_id`,
 * `decision`, `policy_ids` and `reason` in their event data; otherwise common keys are used.
 */
export function describeEvent(event: CloudEvent): Omit<ChainedFields, 'tenant_id' | 'seq' | 'prev_hash'> {
  const action = event.type.startsWith(EVENT_TYPE_PREFIX) ? event.type.slice(EVENT_TYPE_PREFIX.length) : event.type;
  const family = action.split('.')[0];
  const d = (event.data && typeof event.data === 'object' ? event.data : {}) as Record<string, unknown>;
  const userish = text(d.user_id) ?? text(d.email) ?? text(d.username);
  const actor =
    text(d.actor) ??
    text(d.actor_id) ??
    userish ??
    text(d.client_id) ??
    text(d.sub) ??
    text(d.created_by) ??
    (family === 'user' ? event.subject : null);
  const actorKind =
    text(d.actor_kind) ?? (actor === null ? null : userish || family === 'user' ? 'user' : text(d.client_id) ? 'client' : null);
  const decision = d.decision === 'allow' || d.decision === 'deny' ? d.decision : DENIALS.test(action) ? 'deny' : 'allow';
  return {
    event_id: event.id,
    time: Date.parse(event.time),
    action,
    actor,
    actor_kind: actorKind,
    resource_type: text(d.resource_type) ?? RESOURCE_TYPE_OF_FAMILY[family] ?? family,
    resource_id: text(d.resource_id) ?? text(d.id) ?? (event.subject || null),
    ip: text(d.ip) ?? text(d.source_ip),
    decision,
    policy_ids: Array.isArray(d.policy_ids) ? d.policy_ids.filter((p): p is string => typeof p === 'string') : [],
    reason: text(d.reason),
    // Round-tripped through JSON so the hashed value is exactly what a later read parses.
    details: JSON.parse(JSON.stringify(withoutSecrets(d))) as Record<string, unknown>,
  };
}

/** The hashed fields of a stored row. */
// biome-ignore lint/suspicious/noExplicitAny: a raw audit_log row
export function chainedFields(row: any): ChainedFields {
  return {
    tenant_id: row.tenant_id,
    seq: Number(row.seq),
    event_id: row.event_id,
    time: Number(row.time),
    action: row.action,
    actor: row.actor,
    actor_kind: row.actor_kind,
    resource_type: row.resource_type,
    resource_id: row.resource_id,
    ip: row.ip,
    decision: row.decision,
    policy_ids: JSON.parse(row.policy_ids),
    reason: row.reason,
    details: JSON.parse(row.details),
    prev_hash: row.prev_hash,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: a raw audit_log row
function toEntry(row: any): AuditEntry {
  const f = chainedFields(row);
  return { id: row.id, ...f, time: rfc3339(f.time), hash: row.hash };
}

const VERIFY_BATCH = 1000;

/**
 * The audit log: an append-only, per-tenant hash chain of security-relevant events, fed by a
 * durable event subscriber (at-least-once; the unique `event_id` makes recording idempotent).
 */
export class AuditService {
  private readonly families = new Set(AUDITED_FAMILIES);
  private readonly types = new Set(AUDITED_TYPES);

  constructor(private readonly platform: Platform) {}

  /** Records further event families (`'bus'`) or types (`'record.exported'`); call before start. */
  track(...familiesOrTypes: string[]): void {
    for (const t of familiesOrTypes) (t.includes('.') ? this.types : this.families).add(t);
  }

  isAudited(type: string): boolean {
    const action = type.startsWith(EVENT_TYPE_PREFIX) ? type.slice(EVENT_TYPE_PREFIX.length) : type;
    return this.types.has(action) || this.families.has(action.split('.')[0]);
  }

  /** Registers the durable subscriber that feeds the log. */
  subscribe(): void {
    this.platform.events.subscribe('audit-log', (event) => this.record(event));
  }

  /** Appends `event` to its tenant's chain unless it is already there or not audited. */
  async record(event: CloudEvent): Promise<void> {
    if (!this.isAudited(event.type)) return;
    const described = describeEvent(event);
    await this.platform.database.db.transaction().execute(async (tx) => {
      const seen = await tx.selectFrom('audit_log').select('id').where('event_id', '=', event.id).executeTakeFirst();
      if (seen) return;
      const last = await tx
        .selectFrom('audit_log')
        .select(['seq', 'hash'])
        .where('tenant_id', '=', event.tenantid)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      const fields: ChainedFields = {
        tenant_id: event.tenantid,
        seq: last ? Number(last.seq) + 1 : 1,
        prev_hash: last ? last.hash : GENESIS_HASH,
        ...described,
      };
      await tx
        .insertInto('audit_log')
        .values({
          id: this.platform.ids.new('aud'),
          ...fields,
          policy_ids: JSON.stringify(fields.policy_ids),
          details: JSON.stringify(fields.details),
          hash: entryHash(fields),
          recorded_at: this.platform.clock.now(),
        })
        .execute();
    });
  }

  async list(tenantId: string, query: AuditQuery) {
    const db = this.platform.database.db;
    // biome-ignore lint/suspicious/noExplicitAny: one filter chain for the page and the count query
    const filtered = <Q extends { where: any }>(q: Q): Q => {
      let r = q.where('tenant_id', '=', tenantId);
      if (query.actor) r = r.where('actor', '=', query.actor);
      if (query.action?.endsWith('*')) {
        const prefix = query.action.slice(0, -1);
        r = r.where(sql`substr(action, 1, ${prefix.length})`, '=', prefix);
      } else if (query.action) r = r.where('action', '=', query.action);
      if (query.resource) r = r.where('resource_id', '=', query.resource);
      if (query.resource_type) r = r.where('resource_type', '=', query.resource_type);
      if (query.decision) r = r.where('decision', '=', query.decision);
      if (query.from) r = r.where('time', '>=', Date.parse(query.from));
      if (query.to) r = r.where('time', '<', Date.parse(query.to));
      return r;
    };
    const newestFirst = query.sort === '-time';
    const filters = [query.actor, query.action, query.resource, query.resource_type, query.decision, query.from, query.to, newestFirst];
    const filterKey = canonicalJson(filters.map((f) => f ?? null));
    const { items, pagination } = await pageById(
      filtered(db.selectFrom('audit_log').selectAll()),
      query,
      this.platform.signer,
      `audit:${tenantId}:${sha256(filterKey).slice(0, 16)}`,
      filtered(db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n'))),
      'id', // ids are time-sortable and follow the chain
      newestFirst,
    );
    return { items: items.map(toEntry), pagination };
  }

  async get(tenantId: string, id: string): Promise<AuditEntry> {
    const row = await this.platform.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('Audit entry');
    return toEntry(row);
  }

  /**
   * Walks the tenant's chain from the first entry and reports the first entry whose sequence,
   * link (`prev_hash`) or own hash does not hold. `checked` counts the entries examined.
   */
  async verify(tenantId: string): Promise<AuditVerifyResult> {
    const db = this.platform.database.db;
    let prevHash = GENESIS_HASH;
    let expectedSeq = 1;
    let checked = 0;
    for (;;) {
      const rows = await db
        .selectFrom('audit_log')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('seq', '>=', expectedSeq)
        .orderBy('seq')
        .limit(VERIFY_BATCH)
        .execute();
      for (const row of rows) {
        checked++;
        const broken = (reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap'): AuditVerifyResult => ({
          valid: false,
          checked,
          first_broken: { id: row.id, seq: Number(row.seq), event_id: row.event_id, reason },
          head: null,
        });
        if (Number(row.seq) !== expectedSeq) return this.withHead(tenantId, broken('sequence_gap'));
        if (row.prev_hash !== prevHash) return this.withHead(tenantId, broken('prev_hash_mismatch'));
        let fields: ChainedFields;
        try {
          fields = chainedFields(row);
        } catch {
          return this.withHead(tenantId, broken('hash_mismatch')); // stored JSON no longer parses
        }
        if (entryHash(fields) !== row.hash) return this.withHead(tenantId, broken('hash_mismatch'));
        prevHash = row.hash;
        expectedSeq++;
      }
      if (rows.length < VERIFY_BATCH) break;
    }
    return this.withHead(tenantId, { valid: true, checked, head: null });
  }

  private async withHead(tenantId: string, result: AuditVerifyResult): Promise<AuditVerifyResult> {
    const head = await this.platform.database.db
      .selectFrom('audit_log')
      .select(['seq', 'hash'])
      .where('tenant_id', '=', tenantId)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return { ...result, head: head ? { seq: Number(head.seq), hash: head.hash } : null };
  }
}
