import { sql } from 'kysely';
import type { Executor } from '../../platform/db/index.js';

/** What the storage record of an object says. */
export interface StoredObject {
  key: string;
  tenantId: string;
  contentType: string;
  size: number;
  etag: string | null;
}

/**
 * The only SQL on storage_objects and storage_usage. Keys name their tenant (`<tenant>/…`), so
 * the record of a key belongs to that tenant; usage is per tenant.
 */
export class StorageStore {
  /** Bytes of stored objects of the tenant. */
  async usage(db: Executor, tenantId: string): Promise<number> {
    const row = await db.selectFrom('storage_usage').select('bytes').where('tenant_id', '=', tenantId).executeTakeFirst();
    return row?.bytes ?? 0;
  }

  /** Bytes stored by every tenant (the `storage_bytes_used` gauge). */
  async allUsage(db: Executor): Promise<{ tenantId: string; bytes: number }[]> {
    const rows = await db.selectFrom('storage_usage').select(['tenant_id', 'bytes']).execute();
    return rows.map((r) => ({ tenantId: r.tenant_id, bytes: Number(r.bytes) }));
  }

  /** Adds `delta` bytes to the tenant's usage. */
  async addUsage(db: Executor, tenantId: string, delta: number): Promise<void> {
    if (delta === 0) return;
    await db
      .insertInto('storage_usage')
      .values({ tenant_id: tenantId, bytes: delta })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ bytes: sql`storage_usage.bytes + ${delta}` }))
      .execute();
  }

  /** Recorded size of the tenant's key (0 when unknown or not arrived yet). */
  async size(db: Executor, tenantId: string, key: string): Promise<number> {
    const row = await db
      .selectFrom('storage_objects')
      .select('size')
      .where('tenant_id', '=', tenantId)
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.size ?? 0;
  }

  /** Registers a key issued with an upload URL (its size is known once it arrives). */
  async register(db: Executor, tenantId: string, key: string, contentType: string, now: number): Promise<void> {
    await db
      .insertInto('storage_objects')
      .values({ key, tenant_id: tenantId, content_type: contentType, created_at: now })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
  }

  /** Creates or updates the record of an arrived object. */
  async upsert(db: Executor, object: StoredObject, now: number): Promise<void> {
    await db
      .insertInto('storage_objects')
      .values({
        key: object.key,
        tenant_id: object.tenantId,
        content_type: object.contentType,
        size: object.size,
        etag: object.etag,
        created_at: now,
        uploaded_at: now,
      })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({ size: object.size, etag: object.etag, content_type: object.contentType, uploaded_at: now }),
      )
      .execute();
  }

  /** Deletes the tenant's record of the key; returns the size it had (undefined when there was none). */
  async remove(db: Executor, tenantId: string, key: string): Promise<{ size: number } | undefined> {
    const row = await db
      .deleteFrom('storage_objects')
      .where('tenant_id', '=', tenantId)
      .where('key', '=', key)
      .returning('size')
      .executeTakeFirst();
    return row && { size: row.size ?? 0 };
  }
}
