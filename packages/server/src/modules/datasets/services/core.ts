import type { Dataset, DatasetRecord, DatasetSchema, DatasetVersion, LineageEdge } from '@loam/api';
import { type SqlBool, sql } from 'kysely';
import { type AccessRequest, enforce } from '../../../platform/authz.js';
import { type Executor, fromJson } from '../../../platform/db/index.js';
import { rfc3339, rfc3339OrNull } from '../../../platform/http/context.js';
import { AppError, notFound } from '../../../platform/http/errors.js';
import type { Platform } from '../../../platform/index.js';
import type { Principal } from '../../../platform/principal.js';
import { type JsonSql, jsonSql, project } from '../filter.js';
import { DatasetProtection, type RecordProtection } from '../protection.js';
export type DatasetAction = 'datasets:read' | 'datasets:write';

/** Classifications whose reads are audited (`access.read`). */
export const AUDITED = new Set(['confidential', 'restricted']);
/** Relations in lineage that make a version impossible to delete. */
export const DERIVING_RELATIONS = ['derived', 'anonymized'];
export const SCAN_PAGE = 5000;

// biome-ignore lint/suspicious/noExplicitAny: raw rows
export type Row = any;

export interface DatasetRef {
  row: Row;
  id: string;
  tenantId: string;
  classification: string;
}

/** A version selector resolved: the number whose rows are read, and the version id (null = draft). */
export interface VersionRef {
  number: number;
  id: string | null;
  draft: boolean;
  tenantId: string;
  /** Fields its rows hold encrypted (from the schema they were written under). */
  encrypted: string[];
}

export interface RecordQueryInput {
  filter?: unknown;
  sort?: string;
  fields?: string[];
  version?: string;
  limit?: number;
  cursor?: string;
  count?: boolean;
}

export interface LineageInput {
  tenantId: string;
  datasetId: string;
  nodes?: { id: string; type: string; label: string; attributes?: Record<string, unknown> }[];
  edges?: LineageEdge[];
}

export const recordETag = (revision: number, hash: string) => `"${revision}-${hash.slice(0, 16)}"`;
export const resourceETag = (resourceVersion: number) => `"${resourceVersion}"`;

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export function toDataset(row: Row, encrypted: string[]): Dataset {
  return {
    id: row.id,
    name: row.name,
    description: row.description ?? null,
    schema: fromJson<DatasetSchema>(row.schema),
    metadata: fromJson<Record<string, unknown>>(row.metadata),
    tags: fromJson<string[]>(row.tags),
    classification: row.classification,
    status: row.status,
    owner: row.owner ?? null,
    record_count: Number(row.record_count),
    draft_number: Number(row.draft_number),
    latest_version_id: row.latest_version_id ?? null,
    derived_from: row.derived_from == null ? null : fromJson(row.derived_from),
    insert_policy: row.insert_policy == null ? null : fromJson(row.insert_policy),
    encrypted_fields: encrypted,
    resource_version: Number(row.resource_version),
    created_at: rfc3339(Number(row.created_at)),
    updated_at: rfc3339(Number(row.updated_at)),
    archived_at: rfc3339OrNull(row.archived_at == null ? null : Number(row.archived_at)),
  };
}

export function toVersion(row: Row): DatasetVersion {
  return {
    id: row.id,
    dataset_id: row.dataset_id,
    number: Number(row.number),
    name: row.name ?? null,
    description: row.description ?? null,
    tags: fromJson<string[]>(row.tags),
    status: row.status,
    record_count: Number(row.record_count),
    checksum: row.checksum,
    schema: fromJson<DatasetSchema>(row.schema),
    resource_version: Number(row.resource_version),
    created_at: rfc3339(Number(row.created_at)),
    updated_at: rfc3339(Number(row.updated_at)),
    deprecated_at: rfc3339OrNull(row.deprecated_at == null ? null : Number(row.deprecated_at)),
  };
}

export function toRecord(row: Row, fields?: string[][]): DatasetRecord {
  return {
    id: row.id,
    data: project(fromJson<Record<string, unknown>>(row.data), fields),
    revision: Number(row.revision),
    created_at: rfc3339(Number(row.created_at)),
    updated_at: rfc3339(Number(row.updated_at)),
  };
}

/**
 * What every section of the datasets service shares: the platform, the dialect's JSON compiler,
 * record protection, and the access checks (load, authorize, audit, emit) and version resolution
 * every section starts with. One instance per DatasetService, handed to each section service.
 */
export class DatasetCore {
  readonly json: JsonSql;
  /** The privacy engine's encryption at rest and insert policies (see protection.ts). */
  readonly protection: DatasetProtection;

  constructor(
    readonly platform: Platform,
    recordProtection?: RecordProtection,
  ) {
    this.json = jsonSql(platform.database.dialect);
    this.protection = new DatasetProtection(recordProtection);
  }

  get db() {
    return this.platform.database.db;
  }

  get dialect() {
    return this.platform.database.dialect;
  }

  // ---- access ---------------------------------------------------------------------------------

  datasetQuery(db: Executor) {
    return db
      .selectFrom('datasets')
      .selectAll('datasets')
      .select((eb) =>
        eb
          .selectFrom('dataset_versions as lv')
          .select('lv.id')
          .whereRef('lv.dataset_id', '=', 'datasets.id')
          .orderBy('lv.number', 'desc')
          .limit(1)
          .as('latest_version_id'),
      );
  }

  async loadDataset(db: Executor, tenantId: string, id: string, lock?: 'share' | 'update'): Promise<Row> {
    let q = db.selectFrom('datasets').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id);
    if (lock) q = lock === 'share' ? this.dialect.forShare(q) : this.dialect.forUpdate(q);
    const row = await q.executeTakeFirst();
    if (!row) throw notFound('Dataset');
    return row;
  }

  accessRequest(principal: Principal, action: DatasetAction, row: Row, context?: Record<string, unknown>): AccessRequest {
    return {
      principal,
      action,
      resource: {
        type: 'Dataset',
        id: row.id,
        tenantId: row.tenant_id,
        attributes: { classification: row.classification, owner: row.owner ?? '' },
      },
      context,
    };
  }

  /**
   * Loads the principal's dataset (404 for another tenant's or an unknown one) and asks the
   * authorizer; a denial is recorded as `access.denied` and answered 403.
   */
  async authorize(principal: Principal, id: string, action: DatasetAction, context?: Record<string, unknown>): Promise<DatasetRef> {
    const row = await this.loadDataset(this.db, principal.tenantId, id);
    await enforce(this.platform.authorizer, this.platform.events, this.db, this.accessRequest(principal, action, row, context));
    return { row, id: row.id, tenantId: row.tenant_id, classification: row.classification };
  }

  /** Records `access.read` for reads of confidential and restricted datasets (the audit trail). */
  async auditRead(principal: Principal, ds: DatasetRef, operation: string, details: Record<string, unknown> = {}): Promise<void> {
    if (!AUDITED.has(ds.classification)) return;
    await this.platform.events.emit(
      this.db,
      'access.read',
      ds.id,
      {
        actor: principal.subject,
        actor_kind: principal.kind,
        action: 'datasets:read',
        operation,
        resource_type: 'Dataset',
        resource_id: ds.id,
        classification: ds.classification,
        ...details,
      },
      { tenantId: ds.tenantId, source: `/datasets/${ds.id}` },
    );
  }

  async authorizeWrite(principal: Principal, id: string): Promise<DatasetRef> {
    const ds = await this.authorize(principal, id, 'datasets:write');
    return ds;
  }

  assertActive(row: Row): void {
    if (row.status === 'archived') throw new AppError('dataset_archived', 409, 'The dataset is archived: restore it before changing it');
  }

  emit(tx: Executor, type: string, subject: string, data: Record<string, unknown>, tenantId: string, datasetId: string) {
    return this.platform.events.emit(tx, type, subject, data, { tenantId, source: `/datasets/${datasetId}` });
  }

  // ---- versions (every section reads the draft or a version) ---------------------------------

  /** Resolves `?version=`: a version id of this dataset, `draft`, or absent (the draft). */
  async resolveVersion(ds: DatasetRef, version: string | undefined, db: Executor = this.db): Promise<VersionRef> {
    // The draft is read as "rows not superseded", so its number (from the loaded row) is informational.
    if (!version || version === 'draft')
      return {
        number: Number(ds.row.draft_number),
        id: null,
        draft: true,
        tenantId: ds.tenantId,
        encrypted: this.protection.encrypted(ds.row.schema),
      };
    const row = await db
      .selectFrom('dataset_versions')
      .select(['id', 'number', 'schema'])
      .where('dataset_id', '=', ds.id)
      .where('id', '=', version)
      .executeTakeFirst();
    if (!row) throw notFound('Version');
    return {
      number: Number(row.number),
      id: row.id,
      draft: false,
      tenantId: ds.tenantId,
      encrypted: this.protection.encrypted(row.schema),
    };
  }

  /** Rows of record versions visible in version `v` (the draft: rows not yet superseded). */
  visibleAt(v: VersionRef) {
    if (v.draft) return sql<SqlBool>`valid_to IS NULL`;
    return sql<SqlBool>`(valid_from <= ${v.number} AND (valid_to IS NULL OR valid_to > ${v.number}))`;
  }

  /** The draft's live records (`valid_to` null), with `column`, in pages by row id, inside `tx`. */
  async *liveRows<C extends 'data' | 'hash'>(tx: Executor, datasetId: string, column: C, pageSize: number) {
    let after = 0;
    for (;;) {
      const rows = await tx
        .selectFrom('dataset_records')
        .select((column === 'data' ? ['row_id', 'id', 'data'] : ['row_id', column]) as ['row_id', 'id', C])
        .where('dataset_id', '=', datasetId)
        .where('valid_to', 'is', null)
        .where('row_id', '>', after)
        .orderBy('row_id')
        .limit(pageSize)
        .execute();
      if (rows.length > 0) yield rows as Array<{ row_id: number; id: string } & Record<C, string>>;
      if (rows.length < pageSize) return;
      after = Number(rows[rows.length - 1].row_id);
    }
  }
}
