import { type Kysely, sql } from 'kysely';
import { fromJson } from '../../platform/db/index.js';
import type { Database, Executor } from '../../platform/db/index.js';
import type { Signer } from '../../platform/crypto/index.js';
import { type PageRequest, pageByKey } from '../../platform/http/pagination.js';
import type { Pagination } from '@loam/api';
import type { BusMessagesTable, BusSessionsTable } from './tables.js';

/** A message as it was stored: `data` is still its JSON text, so fan-out serializes it once. */
export interface StoredMessage {
  id: string;
  position: number;
  type: string | null;
  /** JSON text. */
  data: string;
  time: number;
}

export interface SessionRow {
  id: string;
  head: number;
  purgedThrough: number;
  createdAt: number;
  lastActivityAt: number;
}

export interface RetentionRule {
  prefix: string;
  maxAgeMs: number | null;
  maxMessages: number | null;
}

const toMessage = (r: Pick<BusMessagesTable, 'id' | 'position' | 'type' | 'data' | 'time'>): StoredMessage => ({
  id: r.id,
  position: r.position,
  type: r.type,
  data: r.data,
  time: r.time,
});

const toSession = (r: BusSessionsTable): SessionRow => ({
  id: r.id,
  head: r.head,
  purgedThrough: r.purged_through,
  createdAt: r.created_at,
  lastActivityAt: r.last_activity_at,
});

/** Rows per INSERT: seven parameters each stays far below SQLite's parameter limit. */
const INSERT_CHUNK = 1000;

/** The bus module's tables: sessions, messages, channel schemas and retention rules. */
export class BusStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Appends `messages` to the session (created on first use) at the next positions, inside `tx`:
   * concurrent senders get consecutive, gap-free positions in commit order.
   */
  async append(
    tx: Executor,
    tenantId: string,
    sessionId: string,
    messages: { id: string; type: string | null; data: string }[],
    now: number,
  ): Promise<StoredMessage[]> {
    // One statement creates the session or moves its head: the upsert's row lock (PostgreSQL) or the
    // single writer (SQLite) orders concurrent senders.
    const { head } = await tx
      .insertInto('bus_sessions')
      .values({ tenant_id: tenantId, id: sessionId, head: messages.length, purged_through: 0, created_at: now, last_activity_at: now })
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'id']).doUpdateSet({ head: sql<number>`bus_sessions.head + ${messages.length}`, last_activity_at: now }),
      )
      .returning('head')
      .executeTakeFirstOrThrow();
    const first = head - messages.length + 1;
    const stored = messages.map((m, i) => ({ id: m.id, position: first + i, type: m.type, data: m.data, time: now }));
    for (let i = 0; i < stored.length; i += INSERT_CHUNK) {
      await tx
        .insertInto('bus_messages')
        .values(stored.slice(i, i + INSERT_CHUNK).map((m) => ({ tenant_id: tenantId, session_id: sessionId, ...m })))
        .execute();
    }
    return stored;
  }

  /** Messages after `after`, in order, at most `limit`. */
  async after(tenantId: string, sessionId: string, after: number, limit: number): Promise<StoredMessage[]> {
    const rows = await this.db
      .selectFrom('bus_messages')
      .select(['id', 'position', 'type', 'data', 'time'])
      .where('tenant_id', '=', tenantId)
      .where('session_id', '=', sessionId)
      .where('position', '>', after)
      .orderBy('position')
      .limit(limit)
      .execute();
    return rows.map(toMessage);
  }

  /** One keyset page of a session's messages after position `after`, oldest first. */
  async messagePage(
    tenantId: string,
    sessionId: string,
    after: number,
    page: PageRequest,
    signer: Signer,
  ): Promise<{ items: StoredMessage[]; pagination: Pagination }> {
    const query = this.db
      .selectFrom('bus_messages')
      .select(['id', 'position', 'type', 'data', 'time'])
      .where('tenant_id', '=', tenantId)
      .where('session_id', '=', sessionId)
      .where('position', '>', after);
    const columns = [{ column: 'position', value: (r: { position: number }) => Number(r.position) }];
    const { items, pagination } = await pageByKey(query, page, { signer, scope: `bus:${tenantId}:${sessionId}`, columns });
    return { items: items.map(toMessage), pagination };
  }

  async session(tenantId: string, sessionId: string): Promise<SessionRow | undefined> {
    const row = await this.db
      .selectFrom('bus_sessions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', sessionId)
      .executeTakeFirst();
    return row ? toSession(row) : undefined;
  }

  /** Sessions by name, from after `afterId`, optionally only those whose name starts with `prefix`. */
  async sessions(tenantId: string, opts: { prefix?: string; afterId?: string; limit: number }): Promise<SessionRow[]> {
    let q = this.db.selectFrom('bus_sessions').selectAll().where('tenant_id', '=', tenantId);
    if (opts.prefix) q = q.where('id', '>=', opts.prefix).where('id', '<', `${opts.prefix}\u{10FFFF}`);
    if (opts.afterId) q = q.where('id', '>', opts.afterId);
    const rows = await q.orderBy('id').limit(opts.limit).execute();
    return rows.map(toSession);
  }

  /** One keyset page of the sessions, by name, optionally only those whose name starts with `prefix`. */
  async sessionPage(tenantId: string, prefix: string | undefined, page: PageRequest, signer: Signer) {
    let q = this.db.selectFrom('bus_sessions').selectAll().where('tenant_id', '=', tenantId);
    if (prefix) q = q.where('id', '>=', prefix).where('id', '<', `${prefix}\u{10FFFF}`);
    const { items, pagination } = await pageByKey(q, page, {
      signer,
      scope: `sessions:${tenantId}:${prefix ?? ''}`,
      columns: [{ column: 'id' }],
    });
    return { items: items.map(toSession), pagination };
  }

  async deleteSession(tx: Executor, tenantId: string, sessionId: string): Promise<boolean> {
    await tx.deleteFrom('bus_messages').where('tenant_id', '=', tenantId).where('session_id', '=', sessionId).execute();
    const r = await tx.deleteFrom('bus_sessions').where('tenant_id', '=', tenantId).where('id', '=', sessionId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  // ---- channel schemas ------------------------------------------------------------------------

  async schemas(tenantId: string): Promise<{ prefix: string; schema: Record<string, unknown>; createdAt: number }[]> {
    const rows = await this.db.selectFrom('bus_schemas').selectAll().where('tenant_id', '=', tenantId).orderBy('prefix').execute();
    return rows.map((r) => ({ prefix: r.prefix, schema: fromJson<Record<string, unknown>>(r.schema), createdAt: r.created_at }));
  }

  async putSchema(tenantId: string, prefix: string, schema: string, now: number): Promise<void> {
    await this.db
      .insertInto('bus_schemas')
      .values({ tenant_id: tenantId, prefix, schema, created_at: now })
      .onConflict((oc) => oc.columns(['tenant_id', 'prefix']).doUpdateSet({ schema, created_at: now }))
      .execute();
  }

  async deleteSchema(tenantId: string, prefix: string): Promise<boolean> {
    const r = await this.db.deleteFrom('bus_schemas').where('tenant_id', '=', tenantId).where('prefix', '=', prefix).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  // ---- retention ------------------------------------------------------------------------------

  async retention(tenantId: string): Promise<RetentionRule[]> {
    const rows = await this.db.selectFrom('bus_retention').selectAll().where('tenant_id', '=', tenantId).orderBy('prefix').execute();
    return rows.map((r) => ({ prefix: r.prefix, maxAgeMs: r.max_age_ms, maxMessages: r.max_messages }));
  }

  async putRetention(tenantId: string, rule: RetentionRule): Promise<void> {
    const set = { max_age_ms: rule.maxAgeMs, max_messages: rule.maxMessages };
    await this.db
      .insertInto('bus_retention')
      .values({ tenant_id: tenantId, prefix: rule.prefix, ...set })
      .onConflict((oc) => oc.columns(['tenant_id', 'prefix']).doUpdateSet(set))
      .execute();
  }

  async deleteRetention(tenantId: string, prefix: string): Promise<boolean> {
    const r = await this.db.deleteFrom('bus_retention').where('tenant_id', '=', tenantId).where('prefix', '=', prefix).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Tenants with at least one retention rule (what the purge job visits). */
  async tenantsWithRetention(): Promise<string[]> {
    const rows = await this.db.selectFrom('bus_retention').select('tenant_id').distinct().execute();
    return rows.map((r) => r.tenant_id);
  }

  /**
   * Purges the session's messages up to the newest one that is older than `cutoffTime` or more
   * than `keep` behind the head, and records how far it purged. Returns the messages removed.
   */
  async purge(tx: Executor, tenantId: string, session: SessionRow, cutoffTime: number | null, keep: number | null): Promise<number> {
    let through = keep === null ? 0 : Math.max(0, session.head - keep);
    if (cutoffTime !== null) {
      const old = await tx
        .selectFrom('bus_messages')
        .select((eb) => eb.fn.max('position').as('p'))
        .where('tenant_id', '=', tenantId)
        .where('session_id', '=', session.id)
        .where('time', '<', cutoffTime)
        .executeTakeFirst();
      through = Math.max(through, Number(old?.p ?? 0));
    }
    if (through <= session.purgedThrough) return 0;
    const r = await tx
      .deleteFrom('bus_messages')
      .where('tenant_id', '=', tenantId)
      .where('session_id', '=', session.id)
      .where('position', '<=', through)
      .executeTakeFirst();
    await tx
      .updateTable('bus_sessions')
      .set({ purged_through: through })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', session.id)
      .where('purged_through', '<', through)
      .execute();
    return Number(r.numDeletedRows);
  }
}
