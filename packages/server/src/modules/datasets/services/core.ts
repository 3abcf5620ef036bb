import type { LineageEdge } from '@loam/api';
import type { ResourceRef } from '../../../platform/access.js';
import type { RequestContext } from '../../../platform/context.js';
import type { Executor } from '../../../platform/db/index.js';
import { AppError, notFound } from '../../../platform/errors.js';
import type { Platform } from '../../../platform/index.js';
import { type JsonSql, jsonSql } from '../filter.js';
import { DatasetProtection, type RecordProtection } from '../protection.js';
import { DatasetStore, type RowScope } from '../store/index.js';
import type { DatasetRow } from '../tables.js';

export type DatasetAction = 'datasets:read' | 'datasets:write';

/** Classifications whose reads are audited (`access.read`). */
export const AUDITED = new Set(['confidential', 'restricted']);
/** Relations in lineage that make a version impossible to delete. */
export const DERIVING_RELATIONS = ['derived', 'anonymized'];
export const SCAN_PAGE = 5000;
/** A load of at least this many records (an import, a finalized draft) refreshes the planner's statistics. */
export const ANALYZE_AFTER_RECORDS = 10_000;

/** A dataset the caller may act on (its row as stored). */
export interface DatasetRef {
  row: DatasetRow;
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
  datasetId: string;
  /** Fields its rows hold encrypted (from the schema they were written under). */
  encrypted: string[];
}

/** The rows a version reads. */
export const scopeOf = (v: VersionRef): RowScope => ({ tenantId: v.tenantId, datasetId: v.datasetId, number: v.draft ? null : v.number });

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

/** A dataset as the access check sees it (Cedar `Loam::Dataset`). */
export function datasetResource(row: DatasetRow): ResourceRef {
  return {
    type: 'Dataset',
    id: row.id,
    tenantId: row.tenant_id,
    attributes: { classification: row.classification, owner: row.owner ?? '', name: row.name, status: row.status, tags: row.tags },
  };
}

/**
 * What every section of the datasets service shares: the platform, the store, the dialect's JSON
 * compiler, record protection, and the access checks (load, check, audit, emit) and version
 * resolution every section starts with. One instance per DatasetService, handed to each section.
 */
export class DatasetCore {
  readonly json: JsonSql;
  readonly store: DatasetStore;
  /** The privacy engine's encryption at rest and insert policies (see protection.ts). */
  readonly protection: DatasetProtection;

  constructor(
    readonly platform: Platform,
    recordProtection?: RecordProtection,
  ) {
    this.json = jsonSql(platform.database.dialect);
    this.store = new DatasetStore(platform.database.dialect, this.json);
    this.protection = new DatasetProtection(recordProtection);
  }

  get db() {
    return this.platform.database.db;
  }

  // ---- access ---------------------------------------------------------------------------------

  /** The tenant's dataset, 404 if it has none by that id; `lock` holds the row for the transaction. */
  async loadDataset(db: Executor, tenantId: string, id: string, lock?: 'share' | 'update'): Promise<DatasetRow> {
    const row = await this.store.datasets.find(db, tenantId, id, lock);
    if (!row) throw notFound('Dataset');
    return row;
  }

  /**
   * Loads the caller's dataset (404 for another tenant's or an unknown one) and asks the access
   * check about it (`Dataset`); a denial is recorded as `access.denied` and answered 403.
   */
  async authorize(ctx: RequestContext, id: string, action: DatasetAction, context?: Record<string, unknown>): Promise<DatasetRef> {
    const row = await this.loadDataset(this.db, ctx.tenantId, id);
    await this.platform.access.check(ctx, action, datasetResource(row), { context });
    return { row, id: row.id, tenantId: row.tenant_id, classification: row.classification };
  }

  authorizeWrite(ctx: RequestContext, id: string): Promise<DatasetRef> {
    return this.authorize(ctx, id, 'datasets:write');
  }

  /**
   * The access check on a dataset's records (`Record`): one record (`recordId`), or the set of
   * them (id: the dataset's) for inserts, queries, exports, imports, statistics and diffs. Records
   * carry their dataset's classification and owner, and its id as the tag `dataset`.
   */
  async checkRecords(ctx: RequestContext, ds: DatasetRef, action: DatasetAction, recordId?: string): Promise<void> {
    await this.platform.access.check(ctx, action, {
      type: 'Record',
      id: recordId ?? ds.id,
      tenantId: ds.tenantId,
      attributes: { classification: ds.classification, owner: ds.row.owner ?? '', dataset: ds.id },
    });
  }

  /** The access check on a version of the dataset (`Version`; the set of versions for a list: id = the dataset's). */
  async checkVersion(
    ctx: RequestContext,
    ds: DatasetRef,
    action: DatasetAction,
    version: { id: string; number?: number; status?: string },
  ): Promise<void> {
    await this.platform.access.check(ctx, action, {
      type: 'Version',
      id: version.id,
      tenantId: ds.tenantId,
      attributes: {
        classification: ds.classification,
        owner: ds.row.owner ?? '',
        dataset: ds.id,
        ...(version.number === undefined ? {} : { number: String(version.number) }),
        ...(version.status === undefined ? {} : { status: version.status }),
      },
    });
  }

  /** Authorizes the dataset, then its records: what every record operation starts with. */
  async authorizeRecords(ctx: RequestContext, id: string, action: DatasetAction, recordId?: string): Promise<DatasetRef> {
    const ds = await this.authorize(ctx, id, action);
    await this.checkRecords(ctx, ds, action, recordId);
    return ds;
  }

  /** Records `access.read` for reads of confidential and restricted datasets (the audit trail). */
  async auditRead(ctx: RequestContext, ds: DatasetRef, operation: string, details: Record<string, unknown> = {}): Promise<void> {
    if (!AUDITED.has(ds.classification)) return;
    await this.platform.events.emit(
      this.db,
      'access.read',
      ds.id,
      {
        actor: ctx.principal.subject,
        actor_kind: ctx.principal.kind,
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

  assertActive(row: DatasetRow): void {
    if (row.status === 'archived') throw new AppError('dataset_archived', 409, 'The dataset is archived: restore it before changing it');
  }

  emit(tx: Executor, type: string, subject: string, data: Record<string, unknown>, tenantId: string, datasetId: string) {
    return this.platform.events.emit(tx, type, subject, data, { tenantId, source: `/datasets/${datasetId}` });
  }

  // ---- versions (every section reads the draft or a version) ---------------------------------

  /**
   * Resolves `?version=` for the caller: a version id of this dataset (which it must be allowed to
   * read: `Version`), `draft`, or absent (the draft).
   */
  async resolveVersion(ctx: RequestContext, ds: DatasetRef, version: string | undefined, db: Executor = this.db): Promise<VersionRef> {
    const v = await this.versionOf(ds, version, db);
    if (v.id) await this.checkVersion(ctx, ds, 'datasets:read', { id: v.id, number: v.number });
    return v;
  }

  /** Resolves a version selector without an access check (jobs, after the check at their start). */
  async versionOf(ds: DatasetRef, version: string | undefined, db: Executor = this.db): Promise<VersionRef> {
    // The draft is read as "rows not superseded", so its number (from the loaded row) is informational.
    if (!version || version === 'draft')
      return {
        number: ds.row.draft_number,
        id: null,
        draft: true,
        tenantId: ds.tenantId,
        datasetId: ds.id,
        encrypted: this.protection.encrypted(ds.row.schema),
      };
    const row = await this.store.versions.find(db, ds.tenantId, ds.id, version);
    if (!row) throw notFound('Version');
    // A draft version is the working draft under a version id: read as the draft is.
    const draft = row.status === 'draft';
    return {
      number: draft ? ds.row.draft_number : row.number,
      id: row.id,
      draft,
      tenantId: ds.tenantId,
      datasetId: ds.id,
      encrypted: this.protection.encrypted(draft ? ds.row.schema : row.schema),
    };
  }
}
