import type { AuditEntry, AuditQuery, AuditVerifyResult } from '@loam/api';
import { configure } from 'safe-stable-stringify';
import type { ResourceRef } from '../../platform/access.js';
import type { RequestContext } from '../../platform/context.js';
import { sha256 } from '../../platform/crypto/index.js';
import type { CloudEvent } from '../../platform/events/outbox.js';
import { EVENT_TYPE_PREFIX } from '../../platform/events/outbox.js';
import { rfc3339 } from '../../platform/http/context.js';
import { notFound } from '../../platform/errors.js';
import type { Platform } from '../../platform/index.js';
import { type AuditRow, AuditStore } from './store.js';

/** JSON with keys sorted at every level and no whitespace; throws on values JSON cannot hold. */
const canonicalJson = configure({ deterministic: true, strict: true });

/** `prev_hash` of the first entry of every tenant chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** Event families recorded in full (`user.*`, …), and single types recorded from other families. */
const AUDITED_FAMILIES = new Set(['user', 'token', 'credential', 'apikey', 'policy', 'access', 'dataset', 'tenant']);
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

/** The hashed fields of a stored row (the one mapper of `audit_log` rows). */
export function chainedFields(row: AuditRow): ChainedFields {
  return {
    tenant_id: row.tenant_id,
    seq: row.seq,
    event_id: row.event_id,
    time: row.time,
    action: row.action,
    actor: row.actor,
    actor_kind: row.actor_kind,
    resource_type: row.resource_type,
    resource_id: row.resource_id,
    ip: row.ip,
    decision: row.decision,
    policy_ids: JSON.parse(row.policy_ids) as string[],
    reason: row.reason,
    details: JSON.parse(row.details) as Record<string, unknown>,
    prev_hash: row.prev_hash,
  };
}

function toEntry(row: AuditRow): AuditEntry {
  const f = chainedFields(row);
  return { id: row.id, ...f, time: rfc3339(f.time), hash: row.hash };
}

const VERIFY_BATCH = 1000;

/** The log as the access check sees it: `*` is the tenant's whole log (lists, verification), else one entry. */
function auditResource(tenantId: string, entry?: AuditRow): ResourceRef {
  if (!entry) return { type: 'AuditLog', id: '*', tenantId };
  return {
    type: 'AuditLog',
    id: entry.id,
    tenantId,
    attributes: { action: entry.action, resource_type: entry.resource_type ?? undefined, actor: entry.actor ?? undefined },
  };
}

/**
 * The audit log: an append-only, per-tenant hash chain of security-relevant events, fed by a
 * durable event subscriber (at-least-once; the unique `event_id` makes recording idempotent).
 */
export class AuditService {
  private readonly families = new Set(AUDITED_FAMILIES);
  private readonly types = new Set(AUDITED_TYPES);
  private readonly store: AuditStore;

  constructor(private readonly platform: Platform) {
    this.store = new AuditStore(platform.database.db, platform.signer);
  }

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
    await this.store.transaction(async (tx) => {
      if (await this.store.hasEvent(tx, event.id)) return;
      const last = await this.store.head(tx, event.tenantid);
      const fields: ChainedFields = {
        tenant_id: event.tenantid,
        seq: last ? last.seq + 1 : 1,
        prev_hash: last ? last.hash : GENESIS_HASH,
        ...described,
      };
      await this.store.append(tx, {
        id: this.platform.ids.new('aud'),
        ...fields,
        policy_ids: JSON.stringify(fields.policy_ids),
        details: JSON.stringify(fields.details),
        hash: entryHash(fields),
        recorded_at: this.platform.clock.now(),
      });
    });
  }

  async list(ctx: RequestContext, query: AuditQuery) {
    const { tenantId } = ctx;
    await this.platform.access.check(ctx, 'audit:read', auditResource(tenantId));
    const newestFirst = query.sort === '-time';
    const filters = [query.actor, query.action, query.resource, query.resource_type, query.decision, query.from, query.to, newestFirst];
    const filterKey = canonicalJson(filters.map((f) => f ?? null));
    const { items, pagination } = await this.store.page(tenantId, query, `audit:${tenantId}:${sha256(filterKey).slice(0, 16)}`);
    return { items: items.map(toEntry), pagination };
  }

  async get(ctx: RequestContext, id: string): Promise<AuditEntry> {
    const row = await this.store.find(ctx.tenantId, id);
    if (!row) throw notFound('Audit entry');
    await this.platform.access.check(ctx, 'audit:read', auditResource(ctx.tenantId, row));
    return toEntry(row);
  }

  /**
   * Walks the tenant's chain from the first entry and reports the first entry whose sequence,
   * link (`prev_hash`) or own hash does not hold. `checked` counts the entries examined.
   */
  async verify(ctx: RequestContext): Promise<AuditVerifyResult> {
    await this.platform.access.check(ctx, 'audit:read', auditResource(ctx.tenantId));
    return this.verifyChain(ctx.tenantId);
  }

  /** `verify` without the access check (operators' tools, tests). */
  async verifyChain(tenantId: string): Promise<AuditVerifyResult> {
    let prevHash = GENESIS_HASH;
    let expectedSeq = 1;
    let checked = 0;
    for (;;) {
      const rows = await this.store.chainFrom(tenantId, expectedSeq, VERIFY_BATCH);
      for (const row of rows) {
        checked++;
        const broken = (reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap'): AuditVerifyResult => ({
          valid: false,
          checked,
          first_broken: { id: row.id, seq: row.seq, event_id: row.event_id, reason },
          head: null,
        });
        if (row.seq !== expectedSeq) return this.withHead(tenantId, broken('sequence_gap'));
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
    const head = await this.store.head(this.platform.database.db, tenantId);
    return { ...result, head: head ? { seq: head.seq, hash: head.hash } : null };
  }
}
