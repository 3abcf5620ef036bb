import { type RawBuilder, sql } from 'kysely';
import type { Executor, SqlDialect } from '../../../platform/db/index.js';
import type { DatasetIndexesTable } from '../tables.js';

/** SQL on `dataset_indexes`, and the shared expression indexes on `dataset_records` they stand for. */
export class IndexTable {
  constructor(private readonly dialect: SqlDialect) {}

  /**
   * Creates the expression index `name` on `(dataset_id, <expr>, id)` unless it exists, then
   * refreshes the planner's statistics so that queries use it at once.
   */
  async build(db: Executor, name: string, expr: RawBuilder<unknown>): Promise<void> {
    await sql`CREATE INDEX IF NOT EXISTS ${sql.id(name)} ON dataset_records (dataset_id, (${expr}), id)`.execute(db);
    await this.analyze(db);
  }

  /** Refreshes the planner's statistics of `dataset_records` (after an index build or a large load). */
  analyze(db: Executor): Promise<void> {
    return this.dialect.analyzeAfterIndex(db, 'dataset_records');
  }

  /** Drops a shared field index once no dataset uses it. */
  async dropIfUnused(db: Executor, name: string): Promise<void> {
    const used = await db.selectFrom('dataset_indexes').select('id').where('sql_name', '=', name).limit(1).executeTakeFirst();
    if (!used) await sql`DROP INDEX IF EXISTS ${sql.id(name)}`.execute(db);
  }

  find(
    db: Executor,
    tenantId: string,
    datasetId: string,
    by: { id: string } | { field: string },
  ): Promise<DatasetIndexesTable | undefined> {
    let q = db.selectFrom('dataset_indexes').selectAll().where('tenant_id', '=', tenantId).where('dataset_id', '=', datasetId);
    q = 'id' in by ? q.where('id', '=', by.id) : q.where('field', '=', by.field);
    return q.executeTakeFirst();
  }

  list(db: Executor, tenantId: string, datasetId: string): Promise<DatasetIndexesTable[]> {
    return db
      .selectFrom('dataset_indexes')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('dataset_id', '=', datasetId)
      .orderBy('id')
      .execute();
  }

  async insert(tx: Executor, row: DatasetIndexesTable): Promise<void> {
    await tx.insertInto('dataset_indexes').values(row).execute();
  }

  async delete(tx: Executor, tenantId: string, id: string): Promise<void> {
    await tx.deleteFrom('dataset_indexes').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
}
