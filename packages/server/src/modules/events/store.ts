import { EVENT_CATALOGUE, RETENTION_DAYS } from '@loam/api';
import { type Selectable, sql } from 'kysely';
import type { DatabaseHandle } from '../../platform/db/index.js';
import type { OutboxEventsTable } from '../../platform/db/schema.js';
import { type CloudEvent, EVENT_TYPE_PREFIX, rowToEvent } from '../../platform/events/outbox.js';

/** Where an event sits in the log: PostgreSQL orders by (writing transaction, sequence), SQLite by sequence. */
export interface Position {
  txid: number;
  seq: number;
}

export const ORIGIN: Position = { txid: 0, seq: 0 };

/** `seq`, or `txid-seq` when the transaction id is not 0: the stream's `id:` and the API's `position`. */
export const formatPosition = (p: Position): string => (p.txid ? `${p.txid}-${p.seq}` : String(p.seq));

/** A position from its text, or undefined when it is not one. */
export function parsePosition(text: string): Position | undefined {
  const m = /^(?:(\d{1,18})-)?(\d{1,18})$/.exec(text);
  if (!m) return undefined;
  const p = { txid: Number(m[1] ?? 0), seq: Number(m[2]) };
  return Number.isSafeInteger(p.txid) && Number.isSafeInteger(p.seq) ? p : undefined;
}

export const comparePositions = (a: Position, b: Position): number => a.txid - b.txid || a.seq - b.seq;

/** A committed event with its position. */
export interface LoggedEvent {
  position: Position;
  event: CloudEvent;
}

/** What a reader of the log asks for: `*` wildcards in types, an exact subject, a time range. */
export interface EventFilter {
  types?: string[];
  subject?: string;
  since?: number;
  until?: number;
}

const AUDIT_TYPES = EVENT_CATALOGUE.filter((t) => t.retention === 'audit').map((t) => EVENT_TYPE_PREFIX + t.name);

/** A LIKE pattern for a type pattern: `*` → `%`, the LIKE metacharacters escaped with `\`. */
function likeOf(pattern: string): string {
  const full = pattern.startsWith(EVENT_TYPE_PREFIX) ? pattern : EVENT_TYPE_PREFIX + pattern;
  return full.replace(/[\\%_]/g, (c) => `\\${c}`).replaceAll('*', '%');
}

const toLogged = (row: Selectable<OutboxEventsTable>): LoggedEvent => ({
  position: { txid: Number(row.txid), seq: Number(row.seq) },
  event: rowToEvent(row),
});

/** Reads of the event log (the outbox table the platform writes): by tenant, in log order. */
export class EventStore {
  constructor(private readonly database: DatabaseHandle) {}

  /**
   * Events of `tenantId` (every tenant when null) after `after`, in log order, matching `filter`.
   * On PostgreSQL only events below the oldest open transaction are read, so a reader that
   * resumes after the last position it saw never skips one committed later with a lower position.
   */
  async after(tenantId: string | null, after: Position, filter: EventFilter, limit: number, reverse = false): Promise<LoggedEvent[]> {
    const { db, dialect } = this.database;
    let q = dialect.outboxAfter(db.selectFrom('outbox_events').selectAll(), after, reverse);
    if (tenantId !== null) q = q.where('tenant_id', '=', tenantId);
    const below = dialect.outboxVisibleBelow();
    if (below) q = q.where('txid', '<', below);
    if (filter.types?.length) {
      const exact = filter.types.filter((t) => !t.includes('*')).map((t) => (t.startsWith(EVENT_TYPE_PREFIX) ? t : EVENT_TYPE_PREFIX + t));
      const wild = filter.types.filter((t) => t.includes('*'));
      q = q.where((eb) =>
        eb.or([
          ...(exact.length ? [eb('type', 'in', exact)] : []),
          ...wild.map((w) => sql<boolean>`${sql.ref('type')} like ${likeOf(w)} escape '\\'`),
        ]),
      );
    }
    if (filter.subject !== undefined) q = q.where('subject', '=', filter.subject);
    if (filter.since !== undefined) q = q.where('time', '>=', filter.since);
    if (filter.until !== undefined) q = q.where('time', '<', filter.until);
    const rows = await dialect.outboxOrder(q, reverse).limit(limit).execute();
    return rows.map(toLogged);
  }

  async get(tenantId: string, id: string): Promise<LoggedEvent | undefined> {
    const row = await this.database.db
      .selectFrom('outbox_events')
      .selectAll()
      .where('id', '=', id)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    return row ? toLogged(row) : undefined;
  }

  /** The newest position every reader may see (see `after`); the origin when the log is empty. */
  async head(): Promise<Position> {
    const { db, dialect } = this.database;
    let q = db.selectFrom('outbox_events').select(['txid', 'seq']);
    const below = dialect.outboxVisibleBelow();
    if (below) q = q.where('txid', '<', below);
    q = q.orderBy('txid', 'desc').orderBy('seq', 'desc').limit(1);
    const row = await q.executeTakeFirst();
    return row ? { txid: Number(row.txid), seq: Number(row.seq) } : ORIGIN;
  }

  /**
   * Deletes events older than their retention class allows (`standard` 7 days, `audit` 365),
   * at most `batch` rows of each class per call; returns how many went.
   */
  async purge(now: number, batch: number, standardDays = RETENTION_DAYS.standard, auditDays = RETENTION_DAYS.audit): Promise<number> {
    const db = this.database.db;
    const day = 86_400_000;
    let removed = 0;
    for (const [audit, days] of [
      [false, standardDays],
      [true, auditDays],
    ] as const) {
      let victims = db
        .selectFrom('outbox_events')
        .select('seq')
        .where('time', '<', now - days * day)
        .limit(batch);
      victims = audit ? victims.where('type', 'in', AUDIT_TYPES) : victims.where('type', 'not in', AUDIT_TYPES);
      const r = await db.deleteFrom('outbox_events').where('seq', 'in', victims).executeTakeFirst();
      removed += Number(r.numDeletedRows);
    }
    return removed;
  }
}
