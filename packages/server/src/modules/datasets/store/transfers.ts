import type { DatasetExport, DatasetImport, ImportError } from '@loam/api';
import { type Updateable, sql } from 'kysely';
import type { Signer } from '../../../platform/crypto/index.js';
import type { Executor } from '../../../platform/db/index.js';
import { type PageRequest, pageByKey } from '../../../platform/http/pagination.js';
import { rfc3339, rfc3339OrNull } from '../../../platform/http/context.js';
import type { DatasetExportsTable, DatasetImportErrorsTable, DatasetImportsTable, ExportRow, ImportRow } from '../tables.js';

/** The one mapper of `dataset_imports` rows to the API's DatasetImport. */
export function toImport(row: ImportRow): DatasetImport {
  return {
    id: row.id,
    dataset_id: row.dataset_id,
    format: row.format,
    status: row.status,
    total: row.total,
    processed: row.processed,
    failed: row.failed,
    job_id: row.job_id,
    error: row.error,
    created_at: rfc3339(row.created_at),
    finished_at: rfc3339OrNull(row.finished_at),
  };
}

/** The one mapper of `dataset_exports` rows to the API's DatasetExport (with its download URL). */
export function toExport(row: ExportRow, downloadUrl: string | null): DatasetExport {
  return {
    id: row.id,
    dataset_id: row.dataset_id,
    version_id: row.version_id,
    format: row.format,
    status: row.status,
    record_count: row.record_count,
    bytes: row.bytes,
    job_id: row.job_id,
    download_url: downloadUrl,
    error: row.error,
    created_at: rfc3339(row.created_at),
    finished_at: rfc3339OrNull(row.finished_at),
  };
}

/**
 * SQL on `dataset_imports`, `dataset_import_errors` and `dataset_exports`. Queries for a caller
 * name the tenant; the jobs find their row by its id (they run for whichever tenant queued them).
 */
export class TransferTables {
  async insertImport(tx: Executor, row: DatasetImportsTable): Promise<void> {
    await tx.insertInto('dataset_imports').values(row).execute();
  }

  /** An import, for its job. */
  importById(db: Executor, id: string): Promise<ImportRow | undefined> {
    return db.selectFrom('dataset_imports').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findImport(db: Executor, tenantId: string, datasetId: string, id: string): Promise<ImportRow | undefined> {
    return db
      .selectFrom('dataset_imports')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('dataset_id', '=', datasetId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  async setImport(db: Executor, imp: ImportRow, set: Updateable<DatasetImportsTable>): Promise<void> {
    await db.updateTable('dataset_imports').set(set).where('tenant_id', '=', imp.tenant_id).where('id', '=', imp.id).execute();
  }

  /** Claims the chunk `from`–`to` of an import: only the run that still sees offset `from` may write it. */
  async claimChunk(tx: Executor, imp: ImportRow, span: { from: number; to: number; line: number }): Promise<boolean> {
    const r = await tx
      .updateTable('dataset_imports')
      .set({ byte_offset: span.to, line_offset: span.line })
      .where('tenant_id', '=', imp.tenant_id)
      .where('id', '=', imp.id)
      .where('byte_offset', '=', span.from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async addProgress(tx: Executor, imp: ImportRow, processed: number, failed: number): Promise<void> {
    await tx
      .updateTable('dataset_imports')
      .set({ processed: sql<number>`processed + ${processed}`, failed: sql<number>`failed + ${failed}` })
      .where('tenant_id', '=', imp.tenant_id)
      .where('id', '=', imp.id)
      .execute();
  }

  async insertError(tx: Executor, row: DatasetImportErrorsTable): Promise<void> {
    await tx.insertInto('dataset_import_errors').values(row).execute();
  }

  /** An import's line errors after (`line`, `seq`), `limit` of them (the import is the caller's: checked before). */
  /** An import's errors by line, one keyset page. */
  errors(db: Executor, importId: string, page: PageRequest, signer: Signer) {
    return pageByKey(db.selectFrom('dataset_import_errors').selectAll().where('import_id', '=', importId), page, {
      signer,
      scope: `import-errors:${importId}`,
      columns: [{ column: 'line' }, { column: 'seq' }],
    });
  }

  async insertExport(tx: Executor, row: DatasetExportsTable): Promise<void> {
    await tx.insertInto('dataset_exports').values(row).execute();
  }

  /** An export, for its job. */
  exportById(db: Executor, id: string): Promise<ExportRow | undefined> {
    return db.selectFrom('dataset_exports').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findExport(db: Executor, tenantId: string, id: string): Promise<ExportRow | undefined> {
    return db.selectFrom('dataset_exports').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }

  async setExport(db: Executor, exp: ExportRow, set: Updateable<DatasetExportsTable>): Promise<void> {
    await db.updateTable('dataset_exports').set(set).where('tenant_id', '=', exp.tenant_id).where('id', '=', exp.id).execute();
  }
}
