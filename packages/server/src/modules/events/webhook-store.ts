import { type Insertable, type Selectable, type Updateable, sql } from 'kysely';
import type { Executor } from '../../platform/db/index.js';
import type { WebhookAttemptsTable, WebhookDeliveriesTable, WebhooksTable } from './tables.js';

export type WebhookRow = Selectable<WebhooksTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;
export type AttemptRow = Selectable<WebhookAttemptsTable>;

/** The only SQL on the webhook tables. Every query names the tenant. */
export class WebhookStore {
  constructor(private readonly db: Executor) {}

  insert(tx: Executor, row: Insertable<WebhooksTable>): Promise<WebhookRow> {
    return tx.insertInto('webhooks').values(row).returningAll().executeTakeFirstOrThrow();
  }

  find(db: Executor, tenantId: string, id: string): Promise<WebhookRow | undefined> {
    return db.selectFrom('webhooks').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }

  list(tenantId: string, afterId: string | undefined, limit: number): Promise<WebhookRow[]> {
    let q = this.db.selectFrom('webhooks').selectAll().where('tenant_id', '=', tenantId);
    if (afterId) q = q.where('id', '>', afterId);
    return q.orderBy('id').limit(limit).execute();
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
    return tx.updateTable('webhooks').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).returningAll().executeTakeFirst();
  }

  /** Resets (success) or adds one to (failure) the endpoint's failures in a row; returns it after. */
  countAttempt(tx: Executor, tenantId: string, id: string, ok: boolean): Promise<WebhookRow | undefined> {
    return tx
      .updateTable('webhooks')
      .set({ consecutive_failures: ok ? 0 : sql<number>`consecutive_failures + 1` })
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

  /** Inserts a delivery; false when its dedupe key exists (the event was fanned out already). */
  async insertDelivery(tx: Executor, row: Insertable<WebhookDeliveriesTable>): Promise<boolean> {
    const r = await tx
      .insertInto('webhook_deliveries')
      .values(row)
      .onConflict((oc) => oc.column('dedupe_key').doNothing())
      .returning('id')
      .executeTakeFirst();
    return r !== undefined;
  }

  delivery(db: Executor, tenantId: string, id: string): Promise<DeliveryRow | undefined> {
    return db.selectFrom('webhook_deliveries').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }

  /** Deliveries of an endpoint, newest first. */
  deliveries(tenantId: string, webhookId: string, q: { status?: string; beforeId?: string; limit: number }): Promise<DeliveryRow[]> {
    let query = this.db.selectFrom('webhook_deliveries').selectAll().where('tenant_id', '=', tenantId).where('webhook_id', '=', webhookId);
    if (q.status) query = query.where('status', '=', q.status as DeliveryRow['status']);
    if (q.beforeId) query = query.where('id', '<', q.beforeId);
    return query.orderBy('id', 'desc').limit(q.limit).execute();
  }

  async updateDelivery(tx: Executor, tenantId: string, id: string, set: Updateable<WebhookDeliveriesTable>): Promise<void> {
    await tx.updateTable('webhook_deliveries').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }

  async insertAttempt(tx: Executor, row: Insertable<WebhookAttemptsTable>): Promise<void> {
    await tx
      .insertInto('webhook_attempts')
      .values(row)
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
