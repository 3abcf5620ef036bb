import type { CreateDataset, Dataset, DatasetSchema, Pagination, SchemaField, UpdateDataset } from '@loam/api';
import type { Updateable } from 'kysely';
import type { RequestContext } from '../../../platform/context.js';
import { type Executor, fromJson, toJson } from '../../../platform/db/index.js';
import { checkIfMatch } from '../../../platform/http/etag.js';
import { AppError, notFound } from '../../../platform/errors.js';
import type { PageRequest } from '../../../platform/http/pagination.js';
import type { Platform } from '../../../platform/index.js';
import type { FilterNode } from '../filter.js';
import type { DatasetProtection, RecordProtection } from '../protection.js';
import { schemaFields, validateRecord } from '../records.js';
import { type DatasetListFilter, type DatasetStore, toDataset } from '../store/index.js';
import type { DatasetRow, DatasetsTable } from '../tables.js';
import {
  type DatasetAction,
  DatasetCore,
  type DatasetRef,
  SCAN_PAGE,
  type VersionRef,
  datasetResource,
  isUniqueViolation,
  resourceETag,
} from './core.js';
import { IndexService } from './indexes.js';
import { LineageService } from './lineage.js';
import { RecordService } from './records.js';
import { StatsService } from './stats.js';
import { VersionService } from './versions.js';

/**
 * Private datasets: schema-validated records with immutable, copy-free versions, a typed filter
 * language compiled to SQL, lineage and statistics. Every write emits its CloudEvent in the same
 * transaction; every access goes through the platform authorizer (Cedar when policies are on).
 *
 * This class is the entry point: it owns the datasets themselves and composes one service per
 * section (`versions`, `records`, `indexes`, `lineage`, `stats`), which share one DatasetCore.
 */
export class DatasetService {
  private readonly core: DatasetCore;
  readonly versions: VersionService;
  readonly records: RecordService;
  readonly indexes: IndexService;
  readonly lineage: LineageService;
  readonly stats: StatsService;

  constructor(platform: Platform, recordProtection?: RecordProtection) {
    this.core = new DatasetCore(platform, recordProtection);
    this.versions = new VersionService(this.core);
    this.records = new RecordService(this.core);
    this.indexes = new IndexService(this.core);
    this.lineage = new LineageService(this.core);
    this.stats = new StatsService(this.core, this.records);
  }

  /** The privacy engine's encryption at rest and insert policies (see protection.ts). */
  get protection(): DatasetProtection {
    return this.core.protection;
  }

  /** The module's SQL (for its transfers; other modules use the service's methods). */
  get store(): DatasetStore {
    return this.core.store;
  }

  /** Stops the bulk-parse worker. */
  close(): Promise<void> {
    return this.records.close();
  }

  /**
   * Loads the caller's dataset (404 for another tenant's or an unknown one) and asks the access
   * check (`Dataset`); a denial is recorded as `access.denied` and answered 403.
   */
  authorize(ctx: RequestContext, id: string, action: DatasetAction, context?: Record<string, unknown>): Promise<DatasetRef> {
    return this.core.authorize(ctx, id, action, context);
  }

  /** `authorize`, then the access check on the dataset's records (`Record`): before reading or writing them. */
  authorizeRecords(ctx: RequestContext, id: string, action: DatasetAction): Promise<DatasetRef> {
    return this.core.authorizeRecords(ctx, id, action);
  }

  /** Records `access.read` for reads of confidential and restricted datasets (the audit trail). */
  auditRead(ctx: RequestContext, ds: DatasetRef, operation: string, details: Record<string, unknown> = {}): Promise<void> {
    return this.core.auditRead(ctx, ds, operation, details);
  }

  /** Resolves `?version=`: a version id of this dataset (checked: `Version` read), `draft`, or absent (the draft). */
  resolveVersion(ctx: RequestContext, ds: DatasetRef, version: string | undefined, db?: Executor): Promise<VersionRef> {
    return this.core.resolveVersion(ctx, ds, version, db);
  }

  /** Resolves a version selector without an access check: for jobs, checked when they were queued. */
  versionOf(ds: DatasetRef, version: string | undefined, db?: Executor): Promise<VersionRef> {
    return this.core.versionOf(ds, version, db);
  }

  async create(ctx: RequestContext, input: CreateDataset): Promise<Dataset> {
    const tenantId = ctx.tenantId;
    await this.core.platform.checkQuota(tenantId, 'datasets', 1);
    const fields = schemaFields(input.schema);
    assertUniqueFieldNames(fields);
    this.core.protection.checkPolicy(input.insert_policy, fields);
    let source: { dataset: DatasetRow; version: VersionRef } | undefined;
    if (input.derived_from) {
      const parent = await this.core.authorize(ctx, input.derived_from.dataset_id, 'datasets:read');
      source = { dataset: parent.row, version: await this.core.resolveVersion(ctx, parent, input.derived_from.version_id) };
    }
    const id = this.core.platform.ids.new('ds');
    const now = this.core.platform.clock.now();
    try {
      await this.core.platform.transaction(async (tx) => {
        await this.core.store.datasets.insert(tx, {
          id,
          tenant_id: tenantId,
          name: input.name,
          description: input.description ?? null,
          schema: toJson({ fields }),
          metadata: toJson(input.metadata ?? {}),
          tags: toJson(input.tags ?? []),
          classification: input.classification ?? 'internal',
          status: 'active',
          owner: ctx.principal.subject,
          draft_number: 1,
          record_count: 0,
          derived_from: input.derived_from ? toJson(input.derived_from) : null,
          insert_policy: input.insert_policy ? toJson(input.insert_policy) : null,
          resource_version: 1,
          created_at: now,
          updated_at: now,
        });
        if (source) await this.linkDerived(tx, tenantId, source, { id, name: input.name });
        await this.core.emit(
          tx,
          'dataset.created',
          id,
          { id, name: input.name, classification: input.classification ?? 'internal', derived_from: input.derived_from ?? null },
          tenantId,
          id,
        );
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('conflict', 409, `A dataset named '${input.name}' already exists`);
      throw err;
    }
    return this.get(ctx, id, { skipAuth: true });
  }

  /** Lineage of a derived dataset, on both sides: the source version → the new dataset. */
  private async linkDerived(
    tx: Executor,
    tenantId: string,
    source: { dataset: DatasetRow; version: VersionRef },
    created: { id: string; name: string },
  ): Promise<void> {
    const versionId = source.version.id ?? source.dataset.id;
    const edge = { from: versionId, to: created.id, relation: 'derived' };
    const srcNode = {
      id: versionId,
      type: 'version',
      label: `${source.dataset.name} v${source.version.number}`,
      attributes: { dataset_id: source.dataset.id, number: source.version.number },
    };
    const newNode = { id: created.id, type: 'dataset', label: created.name, attributes: { dataset_id: created.id } };
    await this.lineage.addLineage(tx, { tenantId, datasetId: source.dataset.id, nodes: [newNode], edges: [edge] });
    await this.lineage.addLineage(tx, { tenantId, datasetId: created.id, nodes: [srcNode], edges: [edge] });
  }

  async get(ctx: RequestContext, id: string, opts: { skipAuth?: boolean } = {}): Promise<Dataset> {
    if (!opts.skipAuth) await this.core.authorize(ctx, id, 'datasets:read');
    const row = await this.core.store.datasets.findWithLatest(this.core.db, ctx.tenantId, id);
    if (!row) throw notFound('Dataset');
    return toDataset(row, this.core.protection.encrypted(row.schema));
  }

  async list(ctx: RequestContext, query: PageRequest & DatasetListFilter): Promise<{ items: Dataset[]; pagination: Pagination }> {
    const tenantId = ctx.tenantId;
    const scope = `datasets:${tenantId}:${query.status ?? ''}:${query.tag ?? ''}:${query.classification ?? ''}`;
    const { items, pagination } = await this.core.store.datasets.page(
      this.core.db,
      tenantId,
      query,
      query,
      this.core.platform.signer,
      scope,
    );
    // Policies may hide datasets (Cedar forbids on classification, owner, …): list only the readable.
    const visible: Dataset[] = [];
    for (const row of items)
      if (await this.core.platform.access.allows(ctx, 'datasets:read', datasetResource(row)))
        visible.push(toDataset(row, this.core.protection.encrypted(row.schema)));
    return { items: visible, pagination: { ...pagination, page_size: visible.length } };
  }

  async update(ctx: RequestContext, id: string, input: UpdateDataset, ifMatch?: string[]): Promise<Dataset> {
    await this.core.authorizeWrite(ctx, id);
    const tenantId = ctx.tenantId;
    try {
      await this.core.platform.transaction(async (tx) => {
        const row = await this.core.loadDataset(tx, tenantId, id, 'update');
        checkIfMatch(ifMatch, resourceETag(row.resource_version), 'dataset');
        this.core.assertActive(row);
        const set: Updateable<DatasetsTable> = {};
        const changed: string[] = [];
        if (input.name !== undefined && input.name !== row.name) set.name = input.name;
        if (input.description !== undefined && input.description !== row.description) set.description = input.description;
        if (input.classification !== undefined && input.classification !== row.classification) set.classification = input.classification;
        changed.push(...Object.keys(set));
        if (input.metadata !== undefined) {
          set.metadata = toJson(input.metadata);
          changed.push('metadata');
        }
        if (input.tags !== undefined) {
          set.tags = toJson(input.tags);
          changed.push('tags');
        }
        if (input.insert_policy !== undefined) {
          set.insert_policy = input.insert_policy === null ? null : toJson(input.insert_policy);
          changed.push('insert_policy');
        }
        // The policy in force afterwards must fit the schema in force afterwards.
        const policy =
          input.insert_policy !== undefined
            ? input.insert_policy
            : row.insert_policy == null
              ? null
              : fromJson<NonNullable<CreateDataset['insert_policy']>>(row.insert_policy);
        if (input.insert_policy !== undefined || input.schema !== undefined)
          this.core.protection.checkPolicy(policy, input.schema?.fields ?? fromJson<DatasetSchema>(row.schema).fields);
        let schemaChange: Record<string, unknown> | undefined;
        if (input.schema !== undefined) {
          const before = fromJson<DatasetSchema>(row.schema).fields;
          const after = input.schema.fields;
          assertUniqueFieldNames(after);
          if (JSON.stringify(before) !== JSON.stringify(after)) {
            await this.assertEncryptionUnchanged(tx, row, before, after);
            const offending = await this.countInvalidRecords(tx, row, after);
            if (offending > 0)
              throw new AppError(
                'schema_incompatible',
                409,
                `The new schema would invalidate ${offending} existing record${offending === 1 ? '' : 's'}; fix or remove them first`,
                undefined,
                undefined,
                { offending_count: offending },
              );
            set.schema = toJson({ fields: after });
            schemaChange = describeSchemaChange(before, after);
          }
        }
        if (Object.keys(set).length === 0) return;
        await this.core.store.datasets.update(tx, tenantId, id, {
          ...set,
          resource_version: row.resource_version + 1,
          updated_at: this.core.platform.clock.now(),
        });
        if (changed.length) await this.core.emit(tx, 'dataset.updated', id, { id, changed }, tenantId, id);
        if (schemaChange) await this.core.emit(tx, 'dataset.schema_changed', id, { id, ...schemaChange }, tenantId, id);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('conflict', 409, `A dataset named '${input.name}' already exists`);
      throw err;
    }
    return this.get(ctx, id, { skipAuth: true });
  }

  /** Live records that `fields` would refuse (validated in pages, with the insert-time validator). */
  private async countInvalidRecords(tx: Executor, ds: DatasetRow, fields: SchemaField[]): Promise<number> {
    let offending = 0;
    const encrypted = this.core.protection.encrypted(ds.schema);
    for await (const page of this.core.store.records.liveRows(tx, ds.tenant_id, ds.id, 'data', SCAN_PAGE)) {
      const rows = await this.core.protection.open(tx, ds.tenant_id, ds.id, encrypted, page);
      for (const r of rows) if (validateRecord(fields, fromJson(r.data)).length > 0) offending++;
    }
    return offending;
  }

  /**
   * 409 when a schema change would switch the encryption of a field (a pii classification added or
   * removed) that live records hold values of: they are stored the other way.
   */
  private async assertEncryptionUnchanged(tx: Executor, ds: DatasetRow, before: SchemaField[], after: SchemaField[]) {
    const switched = this.core.protection.switched(before, after);
    if (switched.length === 0) return;
    const holding = this.core.json.compile({
      kind: 'or',
      items: switched.map((f) => ({ kind: 'not', item: { kind: 'cmp', path: [f], op: '$eq', value: null } }) as FilterNode),
    });
    const count = await this.core.store.records.count(tx, { tenantId: ds.tenant_id, datasetId: ds.id, number: null }, holding);
    if (count > 0)
      throw new AppError(
        'schema_incompatible',
        409,
        `The change would switch encryption at rest (pii classification) of ${switched.join(', ')}, which ${count} existing record${count === 1 ? '' : 's'} hold${count === 1 ? 's' : ''} values of; clear those values first or use a new field`,
        switched.map((f) => ({ field: f, code: 'pii_classification_change', message: `${f} has values in ${count} records` })),
        undefined,
        { offending_count: count },
      );
  }

  async setArchived(ctx: RequestContext, id: string, archived: boolean): Promise<Dataset> {
    await this.core.authorizeWrite(ctx, id);
    const tenantId = ctx.tenantId;
    await this.core.platform.transaction(async (tx) => {
      const row = await this.core.loadDataset(tx, tenantId, id, 'update');
      if ((row.status === 'archived') === archived) return;
      const now = this.core.platform.clock.now();
      await this.core.store.datasets.update(tx, tenantId, id, {
        status: archived ? 'archived' : 'active',
        archived_at: archived ? now : null,
        resource_version: row.resource_version + 1,
        updated_at: now,
      });
      await this.core.emit(tx, archived ? 'dataset.archived' : 'dataset.restored', id, { id }, tenantId, id);
    });
    return this.get(ctx, id, { skipAuth: true });
  }

  async remove(ctx: RequestContext, id: string, ifMatch?: string[]): Promise<void> {
    await this.core.authorizeWrite(ctx, id);
    const tenantId = ctx.tenantId;
    const indexes = await this.core.platform.transaction(async (tx) => {
      const row = await this.core.loadDataset(tx, tenantId, id, 'update');
      checkIfMatch(ifMatch, resourceETag(row.resource_version), 'dataset');
      const idx = await this.core.store.indexes.list(tx, tenantId, id);
      await this.core.store.datasets.delete(tx, tenantId, id);
      await this.core.emit(tx, 'dataset.deleted', id, { id, name: row.name }, tenantId, id);
      return idx.map((i) => i.sql_name);
    });
    for (const name of indexes) await this.indexes.dropIndexIfUnused(name);
  }
}

function assertUniqueFieldNames(fields: SchemaField[]): void {
  const seen = new Set<string>();
  for (const f of fields) {
    if (seen.has(f.name))
      throw new AppError('validation_error', 400, `Field '${f.name}' is declared twice`, [
        { field: 'schema.fields', code: 'duplicate', message: `Field '${f.name}' is declared twice` },
      ]);
    seen.add(f.name);
  }
}

function describeSchemaChange(before: SchemaField[], after: SchemaField[]) {
  const b = new Map(before.map((f) => [f.name, f]));
  const a = new Map(after.map((f) => [f.name, f]));
  return {
    added: after.filter((f) => !b.has(f.name)).map((f) => f.name),
    removed: before.filter((f) => !a.has(f.name)).map((f) => f.name),
    changed: after.filter((f) => b.has(f.name) && JSON.stringify(b.get(f.name)) !== JSON.stringify(f)).map((f) => f.name),
    schema: { fields: after },
  };
}
