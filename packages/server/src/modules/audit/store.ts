import type { AuditQuery, Pagination } from '@loam/api';
import { type Insertable, type Selectable, type SelectQueryBuilder, sql } from 'kysely';
import type { Signer } from '../../platform/crypto/index.js';
import type { Db, Executor } from '../../platform/db/index.js';
import type { Database } from '../../platform/db/schema.js';
import { type PageRequest, pageById } from '../../platform/http/pagination.js';
import type { AuditLogTable } from './tables.js';

export type AuditRow = Selectable<AuditLogTable>;

/** The filters of a list query, applied alike to its page and its count. */
function filtered<O>(q: SelectQueryBuilder<Database, 'audit_log', O>, tenantId: string, query: AuditQuery) {
  let r = q.where('tenant_id', '=', tenantId);
  if (query.actor) r = r.where('actor', '=', query.actor);
  if (query.action?.endsWith('*')) {
    const prefix = query.action.slice(0, -1);
    r = r.where(sql<string>`substr(action, 1, ${prefix.length})`, '=', prefix);
  } else if (query.action) r = r.where('action', '=', query.action);
  if (query.resource) r = r.where('resource_id', '=', query.resource);
  if (query.resource_type) r = r.where('resource_type', '=', query.resource_type);
  if (query.decision) r = r.where('decision', '=', query.decision);
  if (query.from) r = r.where('time', '>=', Date.parse(query.from));
  if (query.to) r = r.where('time', '<', Date.parse(query.to));
  return r;
}

/** The audit log's SQL. Every query names the tenant, except the idempotency check on the (global) event id. */
export class AuditStore {
  constructor(
    private readonly db: Db,
    private readonly signer: Signer,
  ) {}

  /** Whether the event is already recorded (event ids are unique across tenants). */
  async hasEvent(db: Executor, eventId: string): Promise<boolean> {
    return (await db.selectFrom('audit_log').select('id').where('event_id', '=', eventId).executeTakeFirst()) !== undefined;
  }

  /** The tenant's last entry: the link the next one chains to. */
  head(db: Executor, tenantId: string): Promise<{ seq: number; hash: string } | undefined> {
    return db
      .selectFrom('audit_log')
      .select(['seq', 'hash'])
      .where('tenant_id', '=', tenantId)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  async append(db: Executor, entry: Insertable<AuditLogTable>): Promise<void> {
    await db.insertInto('audit_log').values(entry).execute();
  }

  /** One page of the tenant's entries matching `query` (the cursor is bound to `scope`). */
  async page(tenantId: string, query: AuditQuery & PageRequest, scope: string): Promise<{ items: AuditRow[]; pagination: Pagination }> {
    const { items, pagination } = await pageById(
      filtered(this.db.selectFrom('audit_log').selectAll(), tenantId, query),
      query,
      this.signer,
      scope,
      filtered(
        this.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')),
        tenantId,
        query,
      ),
      'id', // ids are time-sortable and follow the chain
      query.sort === '-time',
    );
    return { items, pagination };
  }

  find(tenantId: string, id: string): Promise<AuditRow | undefined> {
    return this.db.selectFrom('audit_log').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }

  /** Up to `limit` entries of the chain from `seq` on, in order. */
  chainFrom(tenantId: string, seq: number, limit: number): Promise<AuditRow[]> {
    return this.db
      .selectFrom('audit_log')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('seq', '>=', seq)
      .orderBy('seq')
      .limit(limit)
      .execute();
  }

  /** Runs `fn` in a transaction of its own (recording an entry must not join the caller's). */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }
}
