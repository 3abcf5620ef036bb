import type { TenantErasureReport } from '@loam/api';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../platform/db/schema.js';
import { rfc3339 } from '../../platform/http/context.js';
import type { Platform } from '../../platform/index.js';
import { ERASE_JOB, type TenantService } from './service.js';

/** What erasure needs of the key ring (the privacy module's): crypto-shredding. */
export interface KeyShredder {
  shred(tenantId: string): Promise<{ dataKeys: number; rootKey: boolean }>;
  forget(tenantId: string): void;
}

interface ErasePayload {
  tenantId: string;
  operatorTenant: string;
  actor: string;
}

/**
 * Tables whose rows of an erased tenant are kept: the tenant list itself (its row goes last) and
 * the append-only audit log, which keeps the fact of what happened (the erasure included).
 */
const KEPT = new Set(['tenants', 'audit_log']);

/**
 * Every table with a `tenant_id` column, found in the database itself: tables that modules add
 * later are erased without being listed anywhere.
 */
export async function tenantTables(db: Kysely<Database>): Promise<string[]> {
  const tables = await db.introspection.getTables();
  return tables
    .filter((t) => !t.isView && !KEPT.has(t.name) && t.columns.some((c) => c.name === 'tenant_id'))
    .map((t) => t.name)
    .sort();
}

/**
 * Deletes the tenant's rows of every table. A delete that a foreign key refuses (a child table
 * not yet emptied) is tried again after the others, until a pass removes nothing more.
 */
async function deleteRows(db: Kysely<Database>, tenantId: string): Promise<Record<string, number>> {
  const removed: Record<string, number> = {};
  let pending = await tenantTables(db);
  for (let pass = 0; pending.length > 0 && pass < 10; pass++) {
    const failed: string[] = [];
    for (const table of pending) {
      try {
        const r = await sql`delete from ${sql.table(table)} where tenant_id = ${tenantId}`.execute(db);
        removed[table] = (removed[table] ?? 0) + Number(r.numAffectedRows ?? 0);
      } catch {
        failed.push(table);
      }
    }
    if (failed.length === pending.length) throw new Error(`could not erase the rows of ${failed.join(', ')}`);
    pending = failed;
  }
  return removed;
}

/**
 * The erasure job: destroys the tenant's keys first (so every copy of its encrypted values,
 * backups included, becomes unreadable), then its blobs, then its rows in every table, then the
 * tenant; records `tenant.erased` (audited) in the operator's tenant and returns the report.
 * Each step is idempotent, so a retried attempt finishes what a failed one began.
 */
export function registerErasure(platform: Platform, tenants: TenantService, keys: () => KeyShredder | undefined): void {
  platform.jobs.register<ErasePayload>(
    ERASE_JOB,
    async ({ job, complete }) => {
      const { tenantId, operatorTenant, actor } = job.payload;
      const shredded = (await keys()?.shred(tenantId)) ?? { dataKeys: 0, rootKey: false };
      const blobs = await platform.blob.deletePrefix(`${tenantId}/`);
      const tables = await deleteRows(platform.database.db, tenantId);
      await platform.database.dialect.purgeSearchIndexes(platform.database.db);
      const report: TenantErasureReport = {
        tenant_id: tenantId,
        data_keys_destroyed: shredded.dataKeys,
        blobs_deleted: blobs,
        rows_deleted: Object.values(tables).reduce((a, b) => a + b, 0),
        tables: Object.fromEntries(Object.entries(tables).filter(([, n]) => n > 0)),
        kept: ['audit_log'],
        finished_at: rfc3339(platform.clock.now()),
      };
      await platform.transaction(async (tx) => {
        await tenants.removeErased(tx, tenantId);
        await platform.events.emit(
          tx,
          'tenant.erased',
          tenantId,
          { id: tenantId, actor, ...report, tables: report.tables },
          { tenantId: operatorTenant },
        );
        await complete(tx, report);
      });
      tenants.erased(tenantId);
      platform.log.info({ tenant: tenantId, rows: report.rows_deleted, blobs }, 'tenant erased');
      return report;
    },
    { maxAttempts: 10, backoffMs: 5_000 },
  );
}
