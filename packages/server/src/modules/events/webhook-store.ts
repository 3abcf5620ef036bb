import { type Insertable, type Selectable, type Updateable, sql } from 'kysely';
import type { Pagination } from '@loam/api';
import type { Signer } from '../../platform/crypto/index.js';
import { type Executor, wakeOnCommit } from '../../platform/db/index.js';
import { type PageRequest, pageByKey } from '../../platform/http/pagination.js';
import type { WebhookAttemptsTable, WebhookDeliveriesTable, WebhooksTable } from './tables.js';

export type WebhookRow = Selectable<WebhooksTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;
export type AttemptRow = Selectable<WebhookAttemptsTable>;

/** Rows per multi-row statement (16 columns each stays under every driver's parameter limit). */
const INSERT_CHUNK = 500;

/** The only SQL on the webhook tables. Every query names the tenant. */
export class WebhookStore {
  constructor(private readonly db: Executor) {}

  insert(tx: Executor, row: Insertable<WebhooksTable>): Promise<WebhookRow> {
    return tx.insertInto('webhooks').values(row).returningAll().executeTakeFirstOrThrow();
  }

  find(db: Executor, tenantId: string, id: string): Promise<WebhookRow | undefined> {
    return db.selectFrom('webhooks').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }

  /** One keyset page of the tenant's endpoints, by id. */
  list(tenantId: string, page: PageRequest, signer: Signer): Promise<{ items: WebhookRow[]; pagination: Pagination }> {
    const q = this.db.selectFrom('webhooks').selectAll().where('tenant_id', '=', tenantId);
    return pageByKey(q, page, { signer, scope: `webhooks:${tenantId}`, columns: [{ column: 'id' }] });
  }

  async count(db: Executor, tenantId: string): Promise<number> {
    const r = await db
      .selectFrom('webhooks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** The tenant's active endpoints (the fan-out reads them for every event). */
  active(db: Executor, tenantId: string): Promise<WebhookRow[]> {
    return db.selectFrom('webhooks').selectAll().where('tenant_id', '=', tenantId).where('active', '=', 1).execute();
  }

  async update(tx: Executor, tenantId: string, id: string, set: Updateable<WebhooksTable>): Promise<WebhookRow | undefined> {
    if (set.active === 1) wakeOnCommit(tx, 'deliveries'); // an endpoint enabled again: its pending deliveries are due
    return tx.updateTable('webhooks').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).returningAll().executeTakeFirst();
  }

  /**
   * The endpoint's failures in a row after a batch of attempts: `failures` (those after its last
   * success) when the batch had a success, else the count so far plus `failures`. Returns it after.
   */
  countAttempts(tx: Executor, tenantId: string, id: string, succeeded: boolean, failures: number): Promise<WebhookRow | undefined> {
    return tx
      .updateTable('webhooks')
      .set({ consecutive_failures: succeeded ? failures : sql<number>`consecutive_failures + ${failures}` })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
  }

  async delete(tx: Executor, tenantId: string, id: string): Promise<boolean> {
    await tx
      .deleteFrom('webhook_attempts')
      .where('tenant_id', '=', tenantId)
      .where('delivery_id', 'in', (eb) => eb.selectFrom('webhook_deliveries').select('id').where('webhook_id', '=', id))
      .execute();
    await tx.deleteFrom('webhook_deliveries').where('tenant_id', '=', tenantId).where('webhook_id', '=', id).execute();
    const r = await tx.deleteFrom('webhooks').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /**
   * Inserts deliveries, many rows per statement; a row whose dedupe key exists (the event was
   * fanned out already) is skipped. Returns the ids inserted.
   */
  async insertDeliveries(tx: Executor, rows: Insertable<WebhookDeliveriesTable>[]): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const r = await tx
        .insertInto('webhook_deliveries')
        .values(rows.slice(i, i + INSERT_CHUNK))
        .onConflict((oc) => oc.column('dedupe_key').doNothing())
        .returning('id')
        .execute();
      ids.push(...r.map((x) => x.id));
    }
    // Callers insert in platform.transaction, which wakes the dispatcher after the commit.
    if (ids.length > 0) wakeOnCommit(tx, 'deliveries');
    return ids;
  }

  // ---- the dispatcher's queue (every tenant's deliveries: it serves them all) -----------------

  /** Per endpoint with deliveries in flight (leased, lease unexpired): how many, and its limit. */
  async inFlight(tx: Executor, now: number): Promise<Map<string, { n: number; concurrency: number }>> {
    const rows = await tx
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
      .select(['d.webhook_id', 'w.concurrency', (eb) => eb.fn.countAll<number>().as('n')])
      .where('d.lease_until', '>', now)
      .groupBy(['d.webhook_id', 'w.concurrency'])
      .execute();
    return new Map(rows.map((r) => [r.webhook_id, { n: Number(r.n), concurrency: Number(r.concurrency) }]));
  }

  /** Pending deliveries due by `now` and not in flight, oldest first, of endpoints not in `skip` (read from the index alone). */
  due(tx: Executor, now: number, skip: string[], limit: number): Promise<Pick<DeliveryRow, 'id' | 'webhook_id' | 'tenant_id'>[]> {
    let q = tx
      .selectFrom('webhook_deliveries')
      .select(['id', 'webhook_id', 'tenant_id'])
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]));
    if (skip.length) q = q.where('webhook_id', 'not in', skip);
    return q.orderBy('next_attempt_at').limit(limit).execute();
  }

  /** The endpoints `ids` (of the tenants `tenantIds`). */
  endpoints(tx: Executor, tenantIds: string[], ids: string[]): Promise<WebhookRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return tx.selectFrom('webhooks').selectAll().where('tenant_id', 'in', tenantIds).where('id', 'in', ids).execute();
  }

  /** Leases the deliveries `ids` (at most a claim's worth) to `owner` until `until`; returns them. */
  lease(tx: Executor, ids: string[], owner: string, until: number): Promise<DeliveryRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return tx
      .updateTable('webhook_deliveries')
      .set({ lease_owner: owner, lease_until: until })
      .where('id', 'in', ids)
      .returningAll()
      .execute();
  }

  /**
   * Records the same result on deliveries this dispatcher still leases, ending their leases (one
   * more attempt each when `attempted`); returns the ids it still held (a lost lease's new holder records its own).
   */
  async settle(tx: Executor, ids: string[], owner: string, set: Updateable<WebhookDeliveriesTable>, attempted = true): Promise<string[]> {
    const held: string[] = [];
    for (let i = 0; i < ids.length; i += INSERT_CHUNK) {
      const r = await tx
        .updateTable('webhook_deliveries')
        .set({ ...set, ...(attempted ? { attempts: sql<number>`attempts + 1` } : {}), lease_owner: null, lease_until: null })
        .where('id', 'in', ids.slice(i, i + INSERT_CHUNK))
        .where('lease_owner', '=', owner)
        .returning('id')
        .execute();
      held.push(...r.map((x) => x.id));
    }
    return held;
  }

  /** Ends the leases of owners in [from, to) (a dead process's): its deliveries are due again at once. */
  async expireLeases(tx: Executor, from: string, to: string): Promise<number> {
    const r = await tx
      .updateTable('webhook_deliveries')
      .set({ lease_until: 0 })
      .where('lease_owner', '>=', from)
      .where('lease_owner', '<', to)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  delivery(db: Executor, tenantId: string, id: string): Promise<DeliveryRow | undefined> {
    return db.selectFrom('webhook_deliveries').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }

  /** Deliveries of an endpoint, newest first. */
  /** One keyset page of an endpoint's deliveries, newest first. */
  deliveries(tenantId: string, webhookId: string, status: string | undefined, page: PageRequest, signer: Signer) {
    let query = this.db.selectFrom('webhook_deliveries').selectAll().where('tenant_id', '=', tenantId).where('webhook_id', '=', webhookId);
    if (status) query = query.where('status', '=', status as DeliveryRow['status']);
    return pageByKey(query, page, { signer, scope: `deliveries:${webhookId}`, columns: [{ column: 'id', desc: true }] });
  }

  async updateDelivery(tx: Executor, tenantId: string, id: string, set: Updateable<WebhookDeliveriesTable>): Promise<void> {
    if (set.status === 'pending') wakeOnCommit(tx, 'deliveries');
    await tx.updateTable('webhook_deliveries').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }

  async insertAttempts(tx: Executor, rows: Insertable<WebhookAttemptsTable>[]): Promise<void> {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK)
      await tx
        .insertInto('webhook_attempts')
        .values(rows.slice(i, i + INSERT_CHUNK))
        .onConflict((oc) => oc.columns(['delivery_id', 'attempt']).doNothing())
        .execute();
  }

  async attempts(tenantId: string, deliveryIds: string[]): Promise<Map<string, AttemptRow[]>> {
    const out = new Map<string, AttemptRow[]>();
    if (deliveryIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('webhook_attempts')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('delivery_id', 'in', deliveryIds)
      .orderBy('attempt')
      .execute();
    for (const r of rows) {
      const list = out.get(r.delivery_id) ?? [];
      list.push(r);
      out.set(r.delivery_id, list);
    }
    return out;
  }
}
