import type { DatasetSchema, DatasetVersion } from '@loam/api';
import type { Insertable, Updateable } from 'kysely';
import type { Signer } from '../../../platform/crypto/index.js';
import { type Executor, fromJson } from '../../../platform/db/index.js';
import { rfc3339, rfc3339OrNull } from '../../../platform/http/context.js';
import { type PageRequest, pageById } from '../../../platform/http/pagination.js';
import type { DatasetVersionsTable, VersionRow } from '../tables.js';

/** The one mapper of `dataset_versions` rows to the API's DatasetVersion. */
export function toVersion(row: VersionRow): DatasetVersion {
  return {
    id: row.id,
    dataset_id: row.dataset_id,
    number: row.number,
    name: row.name,
    description: row.description,
    tags: fromJson<string[]>(row.tags),
    status: row.status,
    record_count: row.record_count,
    checksum: row.checksum,
    schema: fromJson<DatasetSchema>(row.schema),
    resource_version: row.resource_version,
    created_at: rfc3339(row.created_at),
    updated_at: rfc3339(row.updated_at),
    deprecated_at: rfc3339OrNull(row.deprecated_at),
  };
}

/** SQL on `dataset_versions`. Every query names the tenant. */
export class VersionTable {
  find(db: Executor, tenantId: string, datasetId: string, id: string): Promise<VersionRow | undefined> {
    return db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('dataset_id', '=', datasetId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** The dataset's open draft version, if it has one. */
  openDraft(db: Executor, tenantId: string, datasetId: string): Promise<VersionRow | undefined> {
    return db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('dataset_id', '=', datasetId)
      .where('status', '=', 'draft')
      .executeTakeFirst();
  }

  /** Every version of a dataset, oldest first. */
  all(db: Executor, tenantId: string, datasetId: string): Promise<VersionRow[]> {
    return db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('dataset_id', '=', datasetId)
      .orderBy('number')
      .execute();
  }

  async page(db: Executor, tenantId: string, datasetId: string, page: PageRequest, signer: Signer) {
    const scoped = () => db.selectFrom('dataset_versions').where('tenant_id', '=', tenantId).where('dataset_id', '=', datasetId);
    const { items, pagination } = await pageById(
      scoped().selectAll(),
      page,
      signer,
      `versions:${datasetId}`,
      scoped().select((eb) => eb.fn.countAll<number>().as('n')),
    );
    return { items: items.map(toVersion), pagination };
  }

  async insert(tx: Executor, row: Insertable<DatasetVersionsTable>): Promise<void> {
    await tx.insertInto('dataset_versions').values(row).execute();
  }

  /** Updates a version; with `resourceVersion`, only if it is still that one. Returns whether it did. */
  async update(
    tx: Executor,
    tenantId: string,
    id: string,
    set: Updateable<DatasetVersionsTable>,
    resourceVersion?: number,
  ): Promise<boolean> {
    let q = tx.updateTable('dataset_versions').set(set).where('tenant_id', '=', tenantId).where('id', '=', id);
    if (resourceVersion !== undefined) q = q.where('resource_version', '=', resourceVersion);
    return Number((await q.executeTakeFirst()).numUpdatedRows) > 0;
  }

  async delete(tx: Executor, tenantId: string, id: string): Promise<void> {
    await tx.deleteFrom('dataset_versions').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
}
