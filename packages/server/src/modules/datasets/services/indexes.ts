import type { DatasetIndex } from '@loam/api';
import { sql } from 'kysely';
import { sha256 } from '../../../platform/crypto/index.js';
import { rfc3339 } from '../../../platform/http/context.js';
import { notFound } from '../../../platform/http/errors.js';
import type { Principal } from '../../../platform/principal.js';
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
   */
  async createIndex(principal: Principal, id: string, field: string): Promise<DatasetIndex> {
    const ds = await this.core.authorizeWrite(principal, id);
    const path = parseFieldPath(field, 'field');
    this.core.protection.assertQueryable(this.core.protection.encrypted(ds.row.schema), { index: path });
    const name = this.indexName(field);
    const expr = this.core.json.value(path);
    await sql`CREATE INDEX IF NOT EXISTS ${sql.id(name)} ON dataset_records (dataset_id, (${expr}), id)`.execute(this.core.db);
    await this.core.dialect.analyzeAfterIndex(this.core.db, 'dataset_records');
    const existing = await this.core.db
      .selectFrom('dataset_indexes')
      .selectAll()
      .where('dataset_id', '=', id)
      .where('field', '=', field)
      .executeTakeFirst();
    if (existing) return { id: existing.id, field, created_at: rfc3339(Number(existing.created_at)) };
    const idxId = this.core.platform.ids.new('idx');
    const now = this.core.platform.clock.now();
    await this.core.platform.transaction(async (tx) => {
      await tx
        .insertInto('dataset_indexes')
        .values({ id: idxId, tenant_id: principal.tenantId, dataset_id: id, field, sql_name: name, created_at: now })
        .execute();
      await this.core.emit(tx, 'dataset.updated', id, { id, changed: ['indexes'], index: { id: idxId, field } }, principal.tenantId, id);
    });
    return { id: idxId, field, created_at: rfc3339(now) };
  }

  async listIndexes(principal: Principal, id: string): Promise<DatasetIndex[]> {
    await this.core.authorize(principal, id, 'datasets:read');
    const rows = await this.core.db.selectFrom('dataset_indexes').selectAll().where('dataset_id', '=', id).orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, field: r.field, created_at: rfc3339(Number(r.created_at)) }));
  }

  async deleteIndex(principal: Principal, id: string, indexId: string): Promise<void> {
    await this.core.authorizeWrite(principal, id);
    const row = await this.core.db
      .selectFrom('dataset_indexes')
      .selectAll()
      .where('dataset_id', '=', id)
      .where('id', '=', indexId)
      .executeTakeFirst();
    if (!row) throw notFound('Index');
    await this.core.platform.transaction(async (tx) => {
      await tx.deleteFrom('dataset_indexes').where('id', '=', indexId).execute();
      await this.core.emit(
        tx,
        'dataset.updated',
        id,
        { id, changed: ['indexes'], index_removed: { id: indexId, field: row.field } },
        principal.tenantId,
        id,
      );
    });
    await this.dropIndexIfUnused(row.sql_name);
  }

  /** Drops a shared field index once no dataset uses it. */
  async dropIndexIfUnused(name: string): Promise<void> {
    const used = await this.core.db.selectFrom('dataset_indexes').select('id').where('sql_name', '=', name).limit(1).executeTakeFirst();
    if (!used) await sql`DROP INDEX IF EXISTS ${sql.id(name)}`.execute(this.core.db);
  }
}
