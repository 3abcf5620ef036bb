import type { CreateDataset, Dataset, DatasetSchema, Pagination, SchemaField, UpdateDataset } from '@loam/api';
import { type SqlBool, sql } from 'kysely';
import { type Executor, fromJson, toJson } from '../../../platform/db/index.js';
import { checkIfMatch } from '../../../platform/http/etag.js';
import { AppError, notFound } from '../../../platform/http/errors.js';
import { type PageRequest, pageById } from '../../../platform/http/pagination.js';
import type { Platform } from '../../../platform/index.js';
import type { Principal } from '../../../platform/principal.js';
import type { FilterNode } from '../filter.js';
import type { DatasetProtection, RecordProtection } from '../protection.js';
import { schemaFields, validateRecord } from '../records.js';
import {
  type DatasetAction,
  DatasetCore,
  type DatasetRef,
  type Row,
  SCAN_PAGE,
  type VersionRef,
  isUniqueViolation,
  resourceETag,
  toDataset,
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

  /** Stops the bulk-parse worker. */
  close(): Promise<void> {
    return this.records.close();
  }

  /**
   * Loads the principal's dataset (404 for another tenant's or an unknown one) and asks the
   * authorizer; a denial is recorded as `access.denied` and answered 403.
   */
  authorize(principal: Principal, id: string, action: DatasetAction, context?: Record<string, unknown>): Promise<DatasetRef> {
    return this.core.authorize(principal, id, action, context);
  }

  /** Records `access.read` for reads of confidential and restricted datasets (the audit trail). */
  auditRead(principal: Principal, ds: DatasetRef, operation: string, details: Record<string, unknown> = {}): Promise<void> {
    return this.core.auditRead(principal, ds, operation, details);
  }

  /** Resolves `?version=`: a version id of this dataset, `draft`, or absent (the draft). */
  resolveVersion(ds: DatasetRef, version: string | undefined, db?: Executor): Promise<VersionRef> {
    return this.core.resolveVersion(ds, version, db);
  }

  async create(principal: Principal, input: CreateDataset): Promise<Dataset> {
    const tenantId = principal.tenantId;
    const fields = schemaFields(input.schema);
    assertUniqueFieldNames(fields);
    this.core.protection.checkPolicy(input.insert_policy, fields);
    let source: { dataset: Row; version: Row } | undefined;
    if (input.derived_from) {
      const parent = await this.core.authorize(principal, input.derived_from.dataset_id, 'datasets:read');
      const version = await this.core.db
        .selectFrom('dataset_versions')
        .selectAll()
        .where('dataset_id', '=', parent.id)
        .where('id', '=', input.derived_from.version_id)
        .executeTakeFirst();
      if (!version) throw notFound('Version');
      source = { dataset: parent.row, version };
    }
    const id = this.core.platform.ids.new('ds');
    const now = this.core.platform.clock.now();
    try {
      await this.core.platform.transaction(async (tx) => {
        await tx
          .insertInto('datasets')
          .values({
            id,
            tenant_id: tenantId,
            name: input.name,
            description: input.description ?? null,
            schema: toJson({ fields }),
            metadata: toJson(input.metadata ?? {}),
            tags: toJson(input.tags ?? []),
            classification: input.classification ?? 'internal',
            status: 'active',
            owner: principal.subject,
            draft_number: 1,
            record_count: 0,
            derived_from: input.derived_from ? toJson(input.derived_from) : null,
            insert_policy: input.insert_policy ? toJson(input.insert_policy) : null,
            resource_version: 1,
            created_at: now,
            updated_at: now,
          })
          .execute();
        if (source) {
          const edge = { from: source.version.id, to: id, relation: 'derived' };
          const srcNode = {
            id: source.version.id,
            type: 'version',
            label: `${source.dataset.name} v${source.version.number}`,
            attributes: { dataset_id: source.dataset.id, number: Number(source.version.number) },
          };
          const newNode = { id, type: 'dataset', label: input.name, attributes: { dataset_id: id } };
          await this.lineage.addLineage(tx, { tenantId, datasetId: source.dataset.id, nodes: [newNode], edges: [edge] });
          await this.lineage.addLineage(tx, { tenantId, datasetId: id, nodes: [srcNode], edges: [edge] });
        }
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
    return this.get(principal, id, { skipAuth: true });
  }

  async get(principal: Principal, id: string, opts: { skipAuth?: boolean } = {}): Promise<Dataset> {
    if (!opts.skipAuth) await this.core.authorize(principal, id, 'datasets:read');
    const row = await this.core
      .datasetQuery(this.core.db)
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('Dataset');
    return toDataset(row, this.core.protection.encrypted(row.schema));
  }

  async list(
    principal: Principal,
    query: PageRequest & { status?: string; tag?: string; classification?: string },
  ): Promise<{ items: Dataset[]; pagination: Pagination }> {
    const tenantId = principal.tenantId;
    let base = this.core.datasetQuery(this.core.db).where('tenant_id', '=', tenantId);
    let count = this.core.db
      .selectFrom('datasets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId);
    if (query.status) {
      base = base.where('status', '=', query.status);
      count = count.where('status', '=', query.status);
    }
    if (query.classification) {
      base = base.where('classification', '=', query.classification);
      count = count.where('classification', '=', query.classification);
    }
    if (query.tag) {
      const hasTag = this.core.dialect.jsonArrayContains('tags', query.tag);
      base = base.where(hasTag);
      count = count.where(hasTag);
    }
    const scope = `datasets:${tenantId}:${query.status ?? ''}:${query.tag ?? ''}:${query.classification ?? ''}`;
    const { items, pagination } = await pageById(base, query, this.core.platform.signer, scope, count);
    // Policies may hide datasets (Cedar forbids on classification, owner, …): list only the readable.
    const visible: Dataset[] = [];
    for (const row of items) {
      const decision = await this.core.platform.authorizer.authorize(this.core.accessRequest(principal, 'datasets:read', row));
      if (decision.allowed) visible.push(toDataset(row, this.core.protection.encrypted(row.schema)));
    }
    return { items: visible, pagination: { ...pagination, page_size: visible.length } };
  }

  async update(principal: Principal, id: string, input: UpdateDataset, ifMatch?: string[]): Promise<Dataset> {
    await this.core.authorizeWrite(principal, id);
    const tenantId = principal.tenantId;
    try {
      await this.core.platform.transaction(async (tx) => {
        const row = await this.core.loadDataset(tx, tenantId, id, 'update');
        checkIfMatch(ifMatch, resourceETag(Number(row.resource_version)), 'dataset');
        this.core.assertActive(row);
        const set: Record<string, unknown> = {};
        const changed: string[] = [];
        for (const k of ['name', 'description', 'classification'] as const) {
          if (input[k] !== undefined && input[k] !== row[k]) {
            set[k] = input[k];
            changed.push(k);
          }
        }
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
          input.insert_policy !== undefined ? input.insert_policy : row.insert_policy == null ? null : fromJson(row.insert_policy);
        if (input.insert_policy !== undefined || input.schema !== undefined)
          this.core.protection.checkPolicy(
            policy as CreateDataset['insert_policy'],
            input.schema?.fields ?? fromJson<DatasetSchema>(row.schema).fields,
          );
        let schemaChange: Record<string, unknown> | undefined;
        if (input.schema !== undefined) {
          const before = fromJson<DatasetSchema>(row.schema).fields;
          const after = input.schema.fields;
          assertUniqueFieldNames(after);
          if (JSON.stringify(before) !== JSON.stringify(after)) {
            await this.assertEncryptionUnchanged(tx, id, before, after);
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
        await tx
          .updateTable('datasets')
          .set({ ...set, resource_version: Number(row.resource_version) + 1, updated_at: this.core.platform.clock.now() })
          .where('id', '=', id)
          .execute();
        if (changed.length) await this.core.emit(tx, 'dataset.updated', id, { id, changed }, tenantId, id);
        if (schemaChange) await this.core.emit(tx, 'dataset.schema_changed', id, { id, ...schemaChange }, tenantId, id);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('conflict', 409, `A dataset named '${input.name}' already exists`);
      throw err;
    }
    return this.get(principal, id, { skipAuth: true });
  }

  /** Live records that `fields` would refuse (validated in pages, with the insert-time validator). */
  private async countInvalidRecords(tx: Executor, ds: Row, fields: SchemaField[]): Promise<number> {
    let offending = 0;
    const encrypted = this.core.protection.encrypted(ds.schema);
    for await (const page of this.core.liveRows(tx, ds.id, 'data', SCAN_PAGE)) {
      const rows = await this.core.protection.open(tx, ds.tenant_id, ds.id, encrypted, page);
      for (const r of rows) if (validateRecord(fields, fromJson(r.data)).length > 0) offending++;
    }
    return offending;
  }

  /**
   * 409 when a schema change would switch the encryption of a field (a pii classification added or
   * removed) that live records hold values of: they are stored the other way.
   */
  private async assertEncryptionUnchanged(tx: Executor, datasetId: string, before: SchemaField[], after: SchemaField[]) {
    const switched = this.core.protection.switched(before, after);
    if (switched.length === 0) return;
    const holding = this.core.json.compile({
      kind: 'or',
      items: switched.map((f) => ({ kind: 'not', item: { kind: 'cmp', path: [f], op: '$eq', value: null } }) as FilterNode),
    });
    const n = await tx
      .selectFrom('dataset_records')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('dataset_id', '=', datasetId)
      .where('valid_to', 'is', null)
      .where(holding)
      .executeTakeFirstOrThrow();
    const count = Number(n.n);
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

  async setArchived(principal: Principal, id: string, archived: boolean): Promise<Dataset> {
    await this.core.authorizeWrite(principal, id);
    const tenantId = principal.tenantId;
    await this.core.platform.transaction(async (tx) => {
      const row = await this.core.loadDataset(tx, tenantId, id, 'update');
      if ((row.status === 'archived') === archived) return;
      const now = this.core.platform.clock.now();
      await tx
        .updateTable('datasets')
        .set({
          status: archived ? 'archived' : 'active',
          archived_at: archived ? now : null,
          resource_version: Number(row.resource_version) + 1,
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
      await this.core.emit(tx, archived ? 'dataset.archived' : 'dataset.restored', id, { id }, tenantId, id);
    });
    return this.get(principal, id, { skipAuth: true });
  }

  async remove(principal: Principal, id: string, ifMatch?: string[]): Promise<void> {
    await this.core.authorizeWrite(principal, id);
    const tenantId = principal.tenantId;
    const indexes = await this.core.platform.transaction(async (tx) => {
      const row = await this.core.loadDataset(tx, tenantId, id, 'update');
      checkIfMatch(ifMatch, resourceETag(Number(row.resource_version)), 'dataset');
      const idx = await tx.selectFrom('dataset_indexes').select('sql_name').where('dataset_id', '=', id).execute();
      // Children first: SQLite runs the cascades too, but explicit deletes keep PostgreSQL fast.
      await tx.deleteFrom('dataset_records').where('dataset_id', '=', id).execute();
      await tx.deleteFrom('datasets').where('id', '=', id).execute();
      await this.core.emit(tx, 'dataset.deleted', id, { id, name: row.name }, tenantId, id);
      return idx.map((i) => i.sql_name as string);
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
