import type { Dataset, DatasetSchema, InsertPolicy } from '@loam/api';
import { type Insertable, type Updateable, sql } from 'kysely';
import type { Signer } from '../../../platform/crypto/index.js';
import { type Executor, type SqlDialect, fromJson } from '../../../platform/db/index.js';
import { rfc3339, rfc3339OrNull } from '../../../platform/http/context.js';
import { type PageRequest, pageById } from '../../../platform/http/pagination.js';
import type { DatasetRow, DatasetsTable } from '../tables.js';

/** A dataset row with the id of its latest finalized version. */
export type DatasetWithLatest = DatasetRow & { latest_version_id: string | null };

export interface DatasetListFilter {
  status?: 'active' | 'archived';
  tag?: string;
  classification?: string;
}

/** The one mapper of `datasets` rows to the API's Dataset (`encrypted`: its PII fields). */
export function toDataset(row: DatasetWithLatest, encrypted: string[]): Dataset {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    schema: fromJson<DatasetSchema>(row.schema),
    metadata: fromJson<Record<string, unknown>>(row.metadata),
    tags: fromJson<string[]>(row.tags),
    classification: row.classification,
    status: row.status,
    owner: row.owner,
    record_count: row.record_count,
    draft_number: row.draft_number,
    latest_version_id: row.latest_version_id,
    derived_from: row.derived_from == null ? null : fromJson<{ dataset_id: string; version_id: string }>(row.derived_from),
    insert_policy: row.insert_policy == null ? null : fromJson<InsertPolicy>(row.insert_policy),
    encrypted_fields: encrypted,
    resource_version: row.resource_version,
    created_at: rfc3339(row.created_at),
    updated_at: rfc3339(row.updated_at),
    archived_at: rfc3339OrNull(row.archived_at),
  };
}

/** SQL on `datasets`. Every query names the tenant. */
export class DatasetTable {
  constructor(private readonly dialect: SqlDialect) {}

  private withLatest(db: Executor, tenantId: string) {
    return db
      .selectFrom('datasets')
      .selectAll('datasets')
      .select((eb) =>
        eb
          .selectFrom('dataset_versions as lv')
          .select('lv.id')
          .whereRef('lv.dataset_id', '=', 'datasets.id')
          .where('lv.status', '!=', 'draft')
          .orderBy('lv.number', 'desc')
          .limit(1)
          .as('latest_version_id'),
      )
      .where('datasets.tenant_id', '=', tenantId);
  }

  /** The tenant's dataset; `lock` holds its row for the rest of the transaction (PostgreSQL). */
  find(db: Executor, tenantId: string, id: string, lock?: 'share' | 'update'): Promise<DatasetRow | undefined> {
    let q = db.selectFrom('datasets').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id);
    if (lock) q = lock === 'share' ? this.dialect.forShare(q) : this.dialect.forUpdate(q);
    return q.executeTakeFirst();
  }

  async findWithLatest(db: Executor, tenantId: string, id: string): Promise<DatasetWithLatest | undefined> {
    const row = await this.withLatest(db, tenantId).where('datasets.id', '=', id).executeTakeFirst();
    return row && { ...row, latest_version_id: row.latest_version_id ?? null };
  }

  async page(db: Executor, tenantId: string, filter: DatasetListFilter, page: PageRequest, signer: Signer, scope: string) {
    let base = this.withLatest(db, tenantId);
    let count = db
      .selectFrom('datasets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId);
    if (filter.status) {
      base = base.where('status', '=', filter.status);
      count = count.where('status', '=', filter.status);
    }
    if (filter.classification) {
      base = base.where('classification', '=', filter.classification as DatasetRow['classification']);
      count = count.where('classification', '=', filter.classification as DatasetRow['classification']);
    }
    if (filter.tag) {
      const hasTag = this.dialect.jsonArrayContains('tags', filter.tag);
      base = base.where(hasTag);
      count = count.where(hasTag);
    }
    const { items, pagination } = await pageById(base, page, signer, scope, count);
    return { items: items.map((r): DatasetWithLatest => ({ ...r, latest_version_id: r.latest_version_id ?? null })), pagination };
  }

  async insert(tx: Executor, row: Insertable<DatasetsTable>): Promise<void> {
    await tx.insertInto('datasets').values(row).execute();
  }

  async update(tx: Executor, tenantId: string, id: string, set: Updateable<DatasetsTable>): Promise<void> {
    await tx.updateTable('datasets').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }

  /** Adds `delta` (may be negative) to the draft's record count. */
  async addRecords(tx: Executor, tenantId: string, id: string, delta: number, now: number): Promise<void> {
    await tx
      .updateTable('datasets')
      .set({ record_count: sql<number>`record_count + ${delta}`, updated_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .execute();
  }

  /** Deletes a dataset and, with it, everything of it (records explicitly: faster on PostgreSQL). */
  async delete(tx: Executor, tenantId: string, id: string): Promise<void> {
    await tx.deleteFrom('dataset_records').where('tenant_id', '=', tenantId).where('dataset_id', '=', id).execute();
    await tx.deleteFrom('datasets').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
}
