import type { DatasetIndex } from '@loam/api';
import type { RequestContext } from '../../../platform/context.js';
import { sha256 } from '../../../platform/crypto/index.js';
import { rfc3339 } from '../../../platform/http/context.js';
import { notFound } from '../../../platform/errors.js';
import { parseFieldPath } from '../filter.js';
import type { DatasetCore } from './core.js';

/** Field indexes: expression indexes on dataset_records, shared per field by every dataset that asks. */
export class IndexService {
  constructor(private readonly core: DatasetCore) {}

  private indexName(field: string): string {
    return `dataset_records_f_${sha256(field).slice(0, 20)}`;
  }

  /**
   * Creates an expression index on a field for every dataset that asks (shared per field):
   * `(dataset_id, <field expression>, id)`, so equality filters on the field read in id order.
   * The planner's statistics are refreshed right after the build (both dialects), so that the
   * next query uses the index.
   */
  async createIndex(ctx: RequestContext, id: string, field: string): Promise<DatasetIndex> {
    const ds = await this.core.authorizeWrite(ctx, id);
    const path = parseFieldPath(field, 'field');
    this.core.protection.assertQueryable(this.core.protection.encrypted(ds.row.schema), { index: path });
    const name = this.indexName(field);
    const store = this.core.store.indexes;
    await store.build(this.core.db, name, this.core.json.value(path));
    const existing = await store.find(this.core.db, ctx.tenantId, id, { field });
    if (existing) return { id: existing.id, field, created_at: rfc3339(existing.created_at) };
    const idxId = this.core.platform.ids.new('idx');
    const now = this.core.platform.clock.now();
    await this.core.platform.transaction(async (tx) => {
      await store.insert(tx, { id: idxId, tenant_id: ctx.tenantId, dataset_id: id, field, sql_name: name, created_at: now });
      await this.core.emit(tx, 'dataset.updated', id, { id, changed: ['indexes'], index: { id: idxId, field } }, ctx.tenantId, id);
    });
    return { id: idxId, field, created_at: rfc3339(now) };
  }

  async listIndexes(ctx: RequestContext, id: string): Promise<DatasetIndex[]> {
    await this.core.authorize(ctx, id, 'datasets:read');
    const rows = await this.core.store.indexes.list(this.core.db, ctx.tenantId, id);
    return rows.map((r) => ({ id: r.id, field: r.field, created_at: rfc3339(r.created_at) }));
  }

  async deleteIndex(ctx: RequestContext, id: string, indexId: string): Promise<void> {
    await this.core.authorizeWrite(ctx, id);
    const row = await this.core.store.indexes.find(this.core.db, ctx.tenantId, id, { id: indexId });
    if (!row) throw notFound('Index');
    await this.core.platform.transaction(async (tx) => {
      await this.core.store.indexes.delete(tx, ctx.tenantId, indexId);
      await this.core.emit(
        tx,
        'dataset.updated',
        id,
        { id, changed: ['indexes'], index_removed: { id: indexId, field: row.field } },
        ctx.tenantId,
        id,
      );
    });
    await this.dropIndexIfUnused(row.sql_name);
  }

  /** Drops a shared field index once no dataset uses it. */
  dropIndexIfUnused(name: string): Promise<void> {
    return this.core.store.indexes.dropIfUnused(this.core.db, name);
  }
}
