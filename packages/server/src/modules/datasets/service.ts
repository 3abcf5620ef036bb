import { createHash } from 'node:crypto';
import {
  type CreateDataset,
  type CreateVersion,
  type Dataset,
  type DatasetIndex,
  type DatasetRecord,
  type DatasetSchema,
  type DatasetStats,
  type DatasetVersion,
  type FieldChange,
  type Lineage,
  type LineageEdge,
  type NewRecord,
  type Pagination,
  type SchemaField,
  type UpdateDataset,
  type UpdateVersion,
  type VersionDiff,
  MAX_RECORDS_PER_CALL,
} from '@loam/api';
import { type SqlBool, sql } from 'kysely';
import { type AccessRequest, enforce } from '../../platform/authz.js';
import { sha256 } from '../../platform/crypto/index.js';
import { type Executor, fromJson, toJson } from '../../platform/db/index.js';
import { invalidCursor, rfc3339, rfc3339OrNull } from '../../platform/http/context.js';
import { checkIfMatch, preconditionFailed } from '../../platform/http/etag.js';
import { AppError, type FieldError, notFound } from '../../platform/http/errors.js';
import { RawBody } from '../../platform/http/lazy-compilers.js';
import { type PageRequest, pageById } from '../../platform/http/pagination.js';
import type { Platform, Tx } from '../../platform/index.js';
import type { Principal } from '../../platform/principal.js';
import { type FilterNode, type JsonSql, jsonSql, parseFieldPath, parseFilter, project } from './filter.js';
import { DatasetProtection, FieldStatsAccumulator, type PlainRecord, type RecordProtection } from './protection.js';
import {
  type PreparedRecord,
  checkNewRecord,
  fieldChanges,
  mergePatch,
  prepareRecords,
  recordDigest,
  recordProblems,
  schemaFields,
  validateRecord,
} from './records.js';
import { type BulkJob, BulkParser, tooManyRecords } from './bulk.js';

export type DatasetAction = 'datasets:read' | 'datasets:write';

/** Classifications whose reads are audited (`access.read`). */
const AUDITED = new Set(['confidential', 'restricted']);
/** Relations in lineage that make a version impossible to delete. */
const DERIVING_RELATIONS = ['derived', 'anonymized'];
const SCAN_PAGE = 5000;

// biome-ignore lint/suspicious/noExplicitAny: raw rows
type Row = any;

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

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

function toDataset(row: Row, encrypted: string[]): Dataset {
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

function toVersion(row: Row): DatasetVersion {
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
 * Private datasets: schema-validated records with immutable, copy-free versions, a typed filter
 * language compiled to SQL, lineage and statistics. Every write emits its CloudEvent in the same
 * transaction; every access goes through the platform authorizer (Cedar when policies are on).
 */
export class DatasetService {
  readonly json: JsonSql;
  /** The privacy engine's encryption at rest and insert policies (see protection.ts). */
  readonly protection: DatasetProtection;
  /** Parses large bulk inserts on a worker thread (started on first use). */
  private readonly bulk = new BulkParser();

  constructor(
    private readonly platform: Platform,
    recordProtection?: RecordProtection,
  ) {
    this.json = jsonSql(platform.database.dialect);
    this.protection = new DatasetProtection(recordProtection);
  }

  private get db() {
    return this.platform.database.db;
  }

  /** Stops the bulk-parse worker. */
  close(): Promise<void> {
    return this.bulk.close();
  }

  private get dialect() {
    return this.platform.database.dialect;
  }

  // ---- access ---------------------------------------------------------------------------------

  private datasetQuery(db: Executor) {
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

  private async loadDataset(db: Executor, tenantId: string, id: string, lock?: 'share' | 'update'): Promise<Row> {
    let q = db.selectFrom('datasets').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id);
    if (lock) q = lock === 'share' ? this.dialect.forShare(q) : this.dialect.forUpdate(q);
    const row = await q.executeTakeFirst();
    if (!row) throw notFound('Dataset');
    return row;
  }

  private accessRequest(principal: Principal, action: DatasetAction, row: Row, context?: Record<string, unknown>): AccessRequest {
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

  private async authorizeWrite(principal: Principal, id: string): Promise<DatasetRef> {
    const ds = await this.authorize(principal, id, 'datasets:write');
    return ds;
  }

  private assertActive(row: Row): void {
    if (row.status === 'archived') throw new AppError('dataset_archived', 409, 'The dataset is archived: restore it before changing it');
  }

  private emit(tx: Executor, type: string, subject: string, data: Record<string, unknown>, tenantId: string, datasetId: string) {
    return this.platform.events.emit(tx, type, subject, data, { tenantId, source: `/datasets/${datasetId}` });
  }

  // ---- datasets -------------------------------------------------------------------------------

  async create(principal: Principal, input: CreateDataset): Promise<Dataset> {
    const tenantId = principal.tenantId;
    const fields = schemaFields(input.schema);
    assertUniqueFieldNames(fields);
    this.protection.checkPolicy(input.insert_policy, fields);
    let source: { dataset: Row; version: Row } | undefined;
    if (input.derived_from) {
      const parent = await this.authorize(principal, input.derived_from.dataset_id, 'datasets:read');
      const version = await this.db
        .selectFrom('dataset_versions')
        .selectAll()
        .where('dataset_id', '=', parent.id)
        .where('id', '=', input.derived_from.version_id)
        .executeTakeFirst();
      if (!version) throw notFound('Version');
      source = { dataset: parent.row, version };
    }
    const id = this.platform.ids.new('ds');
    const now = this.platform.clock.now();
    try {
      await this.platform.transaction(async (tx) => {
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
          await this.addLineage(tx, { tenantId, datasetId: source.dataset.id, nodes: [newNode], edges: [edge] });
          await this.addLineage(tx, { tenantId, datasetId: id, nodes: [srcNode], edges: [edge] });
        }
        await this.emit(
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
    if (!opts.skipAuth) await this.authorize(principal, id, 'datasets:read');
    const row = await this.datasetQuery(this.db).where('tenant_id', '=', principal.tenantId).where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('Dataset');
    return toDataset(row, this.protection.encrypted(row.schema));
  }

  async list(
    principal: Principal,
    query: PageRequest & { status?: string; tag?: string; classification?: string },
  ): Promise<{ items: Dataset[]; pagination: Pagination }> {
    const tenantId = principal.tenantId;
    let base = this.datasetQuery(this.db).where('tenant_id', '=', tenantId);
    let count = this.db
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
      const hasTag = this.dialect.jsonArrayContains('tags', query.tag);
      base = base.where(hasTag);
      count = count.where(hasTag);
    }
    const scope = `datasets:${tenantId}:${query.status ?? ''}:${query.tag ?? ''}:${query.classification ?? ''}`;
    const { items, pagination } = await pageById(base, query, this.platform.signer, scope, count);
    // Policies may hide datasets (Cedar forbids on classification, owner, …): list only the readable.
    const visible: Dataset[] = [];
    for (const row of items) {
      const decision = await this.platform.authorizer.authorize(this.accessRequest(principal, 'datasets:read', row));
      if (decision.allowed) visible.push(toDataset(row, this.protection.encrypted(row.schema)));
    }
    return { items: visible, pagination: { ...pagination, page_size: visible.length } };
  }

  async update(principal: Principal, id: string, input: UpdateDataset, ifMatch?: string[]): Promise<Dataset> {
    await this.authorizeWrite(principal, id);
    const tenantId = principal.tenantId;
    try {
      await this.platform.transaction(async (tx) => {
        const row = await this.loadDataset(tx, tenantId, id, 'update');
        checkIfMatch(ifMatch, resourceETag(Number(row.resource_version)), 'dataset');
        this.assertActive(row);
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
          this.protection.checkPolicy(
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
          .set({ ...set, resource_version: Number(row.resource_version) + 1, updated_at: this.platform.clock.now() })
          .where('id', '=', id)
          .execute();
        if (changed.length) await this.emit(tx, 'dataset.updated', id, { id, changed }, tenantId, id);
        if (schemaChange) await this.emit(tx, 'dataset.schema_changed', id, { id, ...schemaChange }, tenantId, id);
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
    const encrypted = this.protection.encrypted(ds.schema);
    for await (const page of this.liveRows(tx, ds.id, 'data', SCAN_PAGE)) {
      const rows = await this.protection.open(tx, ds.tenant_id, ds.id, encrypted, page);
      for (const r of rows) if (validateRecord(fields, fromJson(r.data)).length > 0) offending++;
    }
    return offending;
  }

  /**
   * 409 when a schema change would switch the encryption of a field (a pii classification added or
   * removed) that live records hold values of: they are stored the other way.
   */
  private async assertEncryptionUnchanged(tx: Executor, datasetId: string, before: SchemaField[], after: SchemaField[]) {
    const switched = this.protection.switched(before, after);
    if (switched.length === 0) return;
    const holding = this.json.compile({
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

  /** The draft's live records (`valid_to` null), with `column`, in pages by row id, inside `tx`. */
  private async *liveRows<C extends 'data' | 'hash'>(tx: Executor, datasetId: string, column: C, pageSize: number) {
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

  async setArchived(principal: Principal, id: string, archived: boolean): Promise<Dataset> {
    await this.authorizeWrite(principal, id);
    const tenantId = principal.tenantId;
    await this.platform.transaction(async (tx) => {
      const row = await this.loadDataset(tx, tenantId, id, 'update');
      if ((row.status === 'archived') === archived) return;
      const now = this.platform.clock.now();
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
      await this.emit(tx, archived ? 'dataset.archived' : 'dataset.restored', id, { id }, tenantId, id);
    });
    return this.get(principal, id, { skipAuth: true });
  }

  async remove(principal: Principal, id: string, ifMatch?: string[]): Promise<void> {
    await this.authorizeWrite(principal, id);
    const tenantId = principal.tenantId;
    const indexes = await this.platform.transaction(async (tx) => {
      const row = await this.loadDataset(tx, tenantId, id, 'update');
      checkIfMatch(ifMatch, resourceETag(Number(row.resource_version)), 'dataset');
      const idx = await tx.selectFrom('dataset_indexes').select('sql_name').where('dataset_id', '=', id).execute();
      // Children first: SQLite runs the cascades too, but explicit deletes keep PostgreSQL fast.
      await tx.deleteFrom('dataset_records').where('dataset_id', '=', id).execute();
      await tx.deleteFrom('datasets').where('id', '=', id).execute();
      await this.emit(tx, 'dataset.deleted', id, { id, name: row.name }, tenantId, id);
      return idx.map((i) => i.sql_name as string);
    });
    for (const name of indexes) await this.dropIndexIfUnused(name);
  }

  // ---- lineage --------------------------------------------------------------------------------

  /**
   * Adds nodes and edges to a dataset's lineage graph (idempotent). Other modules call this —
   * the privacy engine records its anonymization runs (`type: 'anonymization_run'`, an edge
   * `{from: <version id>, to: <run id>, relation: 'anonymized'}`). A version that is the source
   * of a `derived` or `anonymized` edge cannot be deleted.
   */
  async addLineage(db: Executor, input: LineageInput): Promise<void> {
    const now = this.platform.clock.now();
    for (const n of input.nodes ?? []) {
      await db
        .insertInto('dataset_lineage_nodes')
        .values({
          tenant_id: input.tenantId,
          dataset_id: input.datasetId,
          id: n.id,
          type: n.type,
          label: n.label,
          attributes: toJson(n.attributes ?? {}),
          created_at: now,
        })
        .onConflict((oc) => oc.columns(['dataset_id', 'id']).doUpdateSet({ label: n.label, attributes: toJson(n.attributes ?? {}) }))
        .execute();
    }
    for (const e of input.edges ?? []) {
      await db
        .insertInto('dataset_lineage_edges')
        .values({
          tenant_id: input.tenantId,
          dataset_id: input.datasetId,
          from_id: e.from,
          to_id: e.to,
          relation: e.relation,
          created_at: now,
        })
        .onConflict((oc) => oc.columns(['dataset_id', 'from_id', 'to_id', 'relation']).doNothing())
        .execute();
    }
  }

  /** For other modules: records lineage in its own transaction, after checking the dataset is the tenant's. */
  async recordLineage(input: LineageInput, tx?: Tx): Promise<void> {
    const run = async (db: Executor) => {
      await this.loadDataset(db, input.tenantId, input.datasetId);
      await this.addLineage(db, input);
    };
    if (tx) await run(tx);
    else await this.platform.transaction(run);
  }

  async lineage(principal: Principal, id: string): Promise<Lineage> {
    const ds = await this.authorize(principal, id, 'datasets:read');
    const versions = await this.db.selectFrom('dataset_versions').selectAll().where('dataset_id', '=', id).orderBy('number').execute();
    const nodes = await this.db
      .selectFrom('dataset_lineage_nodes')
      .selectAll()
      .where('dataset_id', '=', id)
      .orderBy('created_at')
      .execute();
    const edges = await this.db
      .selectFrom('dataset_lineage_edges')
      .selectAll()
      .where('dataset_id', '=', id)
      .orderBy('created_at')
      .orderBy('from_id')
      .execute();
    const out: Lineage = {
      dataset_id: id,
      nodes: [
        {
          id,
          type: 'dataset',
          label: ds.row.name,
          attributes: { classification: ds.row.classification },
          created_at: rfc3339(Number(ds.row.created_at)),
        },
      ],
      edges: [],
    };
    let previous: string | undefined;
    for (const v of versions) {
      out.nodes.push({
        id: v.id,
        type: 'version',
        label: v.name ?? `v${v.number}`,
        attributes: { number: Number(v.number), status: v.status, record_count: Number(v.record_count), checksum: v.checksum },
        created_at: rfc3339(Number(v.created_at)),
      });
      out.edges.push({ from: id, to: v.id, relation: 'version' });
      if (previous) out.edges.push({ from: previous, to: v.id, relation: 'next_version' });
      previous = v.id;
    }
    const known = new Set(out.nodes.map((n) => n.id));
    for (const n of nodes) {
      if (known.has(n.id)) continue;
      known.add(n.id);
      out.nodes.push({
        id: n.id,
        type: n.type,
        label: n.label,
        attributes: fromJson(n.attributes),
        created_at: rfc3339(Number(n.created_at)),
      });
    }
    for (const e of edges) out.edges.push({ from: e.from_id, to: e.to_id, relation: e.relation });
    return out;
  }

  // ---- versions -------------------------------------------------------------------------------

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
  private visibleAt(v: VersionRef) {
    if (v.draft) return sql<SqlBool>`valid_to IS NULL`;
    return sql<SqlBool>`(valid_from <= ${v.number} AND (valid_to IS NULL OR valid_to > ${v.number}))`;
  }

  async finalize(principal: Principal, id: string, input: CreateVersion): Promise<DatasetVersion> {
    await this.authorizeWrite(principal, id);
    const tenantId = principal.tenantId;
    const versionId = this.platform.ids.new('ver');
    await this.platform.transaction(async (tx) => {
      // The exclusive lock waits for record writes in flight (they hold a share lock), so nothing
      // lands in the draft between counting and closing it.
      const row = await this.loadDataset(tx, tenantId, id, 'update');
      this.assertActive(row);
      const number = Number(row.draft_number);
      const hashes: string[] = [];
      for await (const page of this.liveRows(tx, id, 'hash', SCAN_PAGE * 4)) for (const r of page) hashes.push(r.hash);
      hashes.sort();
      const checksum = createHash('sha256');
      for (const h of hashes) checksum.update(h).update('\n');
      const now = this.platform.clock.now();
      await tx
        .insertInto('dataset_versions')
        .values({
          id: versionId,
          tenant_id: tenantId,
          dataset_id: id,
          number,
          name: input.name ?? null,
          description: input.description ?? null,
          tags: toJson(input.tags ?? []),
          status: 'finalized',
          record_count: hashes.length,
          checksum: checksum.digest('hex'),
          schema: row.schema,
          resource_version: 1,
          created_at: now,
          updated_at: now,
        })
        .execute();
      await tx
        .updateTable('datasets')
        .set({ draft_number: number + 1, resource_version: Number(row.resource_version) + 1, updated_at: now })
        .where('id', '=', id)
        .execute();
      await this.emit(
        tx,
        'version.finalized',
        versionId,
        { id: versionId, dataset_id: id, number, record_count: hashes.length },
        tenantId,
        id,
      );
    });
    return this.getVersion(principal, id, versionId, { skipAuth: true });
  }

  async getVersion(principal: Principal, id: string, vid: string, opts: { skipAuth?: boolean } = {}): Promise<DatasetVersion> {
    if (!opts.skipAuth) await this.authorize(principal, id, 'datasets:read');
    const row = await this.db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('tenant_id', '=', principal.tenantId)
      .where('dataset_id', '=', id)
      .where('id', '=', vid)
      .executeTakeFirst();
    if (!row) throw notFound('Version');
    return toVersion(row);
  }

  async listVersions(principal: Principal, id: string, page: PageRequest) {
    await this.authorize(principal, id, 'datasets:read');
    const { items, pagination } = await pageById(
      this.db.selectFrom('dataset_versions').selectAll().where('dataset_id', '=', id),
      page,
      this.platform.signer,
      `versions:${id}`,
      this.db
        .selectFrom('dataset_versions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('dataset_id', '=', id),
    );
    return { items: items.map(toVersion), pagination };
  }

  async updateVersion(principal: Principal, id: string, vid: string, input: UpdateVersion, ifMatch?: string[]): Promise<DatasetVersion> {
    await this.authorizeWrite(principal, id);
    await this.platform.transaction(async (tx) => {
      const row = await tx.selectFrom('dataset_versions').selectAll().where('dataset_id', '=', id).where('id', '=', vid).executeTakeFirst();
      if (!row) throw notFound('Version');
      checkIfMatch(ifMatch, resourceETag(Number(row.resource_version)), 'version');
      const set: Record<string, unknown> = {};
      if (input.description !== undefined) set.description = input.description;
      if (input.tags !== undefined) set.tags = toJson(input.tags);
      if (Object.keys(set).length === 0) return;
      const updated = await tx
        .updateTable('dataset_versions')
        .set({ ...set, resource_version: Number(row.resource_version) + 1, updated_at: this.platform.clock.now() })
        .where('id', '=', vid)
        .where('resource_version', '=', row.resource_version)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) throw preconditionFailed('version');
      await this.emit(tx, 'version.updated', vid, { id: vid, dataset_id: id, changed: Object.keys(set) }, principal.tenantId, id);
    });
    return this.getVersion(principal, id, vid, { skipAuth: true });
  }

  async deprecateVersion(principal: Principal, id: string, vid: string): Promise<DatasetVersion> {
    await this.authorizeWrite(principal, id);
    await this.platform.transaction(async (tx) => {
      const row = await tx.selectFrom('dataset_versions').selectAll().where('dataset_id', '=', id).where('id', '=', vid).executeTakeFirst();
      if (!row) throw notFound('Version');
      if (row.status === 'deprecated') return;
      const now = this.platform.clock.now();
      await tx
        .updateTable('dataset_versions')
        .set({ status: 'deprecated', deprecated_at: now, updated_at: now, resource_version: Number(row.resource_version) + 1 })
        .where('id', '=', vid)
        .execute();
      await this.emit(tx, 'version.deprecated', vid, { id: vid, dataset_id: id, number: Number(row.number) }, principal.tenantId, id);
    });
    return this.getVersion(principal, id, vid, { skipAuth: true });
  }

  async deleteVersion(principal: Principal, id: string, vid: string, ifMatch?: string[]): Promise<void> {
    await this.authorizeWrite(principal, id);
    await this.platform.transaction(async (tx) => {
      await this.loadDataset(tx, principal.tenantId, id, 'update');
      const row = await tx.selectFrom('dataset_versions').selectAll().where('dataset_id', '=', id).where('id', '=', vid).executeTakeFirst();
      if (!row) throw notFound('Version');
      checkIfMatch(ifMatch, resourceETag(Number(row.resource_version)), 'version');
      const derived = await tx
        .selectFrom('dataset_lineage_edges')
        .select(['to_id', 'relation'])
        .where('from_id', '=', vid)
        .where('relation', 'in', DERIVING_RELATIONS)
        .execute();
      if (derived.length > 0)
        throw new AppError(
          'conflict',
          409,
          `Version ${vid} cannot be deleted: ${[...new Set(derived.map((d) => d.to_id))].join(', ')} derive${derived.length === 1 ? 's' : ''} from it`,
        );
      await tx.deleteFrom('dataset_versions').where('id', '=', vid).execute();
      // Row versions no remaining version (nor the draft) can see are garbage now.
      await sql`
        DELETE FROM dataset_records
        WHERE dataset_id = ${id} AND valid_to IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM dataset_versions v
                          WHERE v.dataset_id = dataset_records.dataset_id
                            AND v.number >= dataset_records.valid_from AND v.number < dataset_records.valid_to)`.execute(tx);
      await this.emit(tx, 'version.deleted', vid, { id: vid, dataset_id: id, number: Number(row.number) }, principal.tenantId, id);
    });
  }

  async diff(
    principal: Principal,
    id: string,
    fromId: string,
    toId: string,
    opts: { limit?: number; cursor?: string; fields?: boolean },
  ): Promise<{ diff: VersionDiff; pagination: Pagination; next?: string }> {
    const ds = await this.authorize(principal, id, 'datasets:read');
    const a = await this.resolveVersion(ds, fromId);
    const b = await this.resolveVersion(ds, toId);
    const limit = opts.limit ?? 100;
    const scope = `diff:${id}:${fromId}:${toId}`;
    let after: string | undefined;
    if (opts.cursor) {
      const c = this.platform.signer.verify<{ after: string }>(opts.cursor, `cursor:${scope}`);
      if (!c || typeof c.after !== 'string') throw invalidCursor();
      after = c.after;
    }
    const va = this.visibleAt(a);
    const vb = this.visibleAt(b);
    const ha = sql`MAX(CASE WHEN ${va} THEN hash END)`;
    const hb = sql`MAX(CASE WHEN ${vb} THEN hash END)`;
    const { rows } = await sql<{ id: string; ha: string | null; hb: string | null }>`
      SELECT id, ${ha} AS ha, ${hb} AS hb
      FROM dataset_records
      WHERE dataset_id = ${id} AND (${va} OR ${vb}) ${after ? sql`AND id > ${after}` : sql``}
      GROUP BY id
      HAVING ${ha} IS NULL OR ${hb} IS NULL OR ${ha} <> ${hb}
      ORDER BY id
      LIMIT ${limit + 1}`.execute(this.db);
    const hasMore = rows.length > limit;
    const page = hasMore ? rows.slice(0, limit) : rows;
    const diff: VersionDiff = { from: fromId, to: toId, added: [], removed: [], modified: [] };
    for (const r of page) {
      if (r.ha == null) diff.added.push(r.id);
      else if (r.hb == null) diff.removed.push(r.id);
      else diff.modified.push(r.id);
    }
    if (opts.fields && diff.modified.length > 0) {
      const dataAt = async (v: VersionRef) => {
        const got = await this.db
          .selectFrom('dataset_records')
          .select(['id', 'data'])
          .where('dataset_id', '=', id)
          .where('id', 'in', diff.modified)
          .where(this.visibleAt(v))
          .execute();
        const opened = await this.protection.open(undefined, v.tenantId, id, v.encrypted, got);
        return new Map(opened.map((g) => [g.id as string, fromJson<Record<string, unknown>>(g.data)]));
      };
      const before = await dataAt(a);
      const afterData = await dataAt(b);
      const changes: Record<string, FieldChange[]> = {};
      for (const rid of diff.modified) changes[rid] = fieldChanges(before.get(rid) ?? {}, afterData.get(rid) ?? {});
      diff.changes = changes;
    }
    const next = hasMore ? this.platform.signer.sign({ after: page[page.length - 1].id }, `cursor:${scope}`) : undefined;
    await this.auditRead(principal, ds, 'versions.diff', { from: fromId, to: toId });
    return { diff, pagination: { has_more: hasMore, page_size: page.length, ...(next ? { cursor: next } : {}) }, next };
  }

  // ---- records: writes ------------------------------------------------------------------------

  /**
   * Inserts up to 10,000 records atomically: every record is validated (400 with the index and
   * field of each problem, nothing inserted), client ids must be new (409), and one
   * `record.created` event lists the ids. A large body arrives unparsed (`RawBody`): a worker
   * thread parses, validates and prepares it in chunks while this thread inserts them in the
   * call's transaction (bulk.ts); a failure anywhere in the body rolls the whole call back.
   */
  async insertRecords(principal: Principal, id: string, body: NewRecord[] | RawBody): Promise<{ inserted: number; ids: string[] }> {
    const ds = await this.authorizeWrite(principal, id);
    const fields = fromJson<DatasetSchema>(ds.row.schema).fields;
    const protectedFields = this.protection.applies(ds.row);
    let records: PlainRecord[];
    if (body instanceof RawBody) {
      const job = await this.bulk.parse(body, fields, this.platform.clock.now(), protectedFields ? 'records' : 'prepared');
      if (!protectedFields) return this.insertPipelined(principal, id, job);
      records = [];
      for (let c = await job.next(); c; c = await job.next()) if ('records' in c) records.push(...c.records);
    } else {
      if (body.length === 0) throw new AppError('validation_error', 400, 'Send at least one record');
      if (body.length > MAX_RECORDS_PER_CALL) throw tooManyRecords();
      const problems: FieldError[] = [];
      const seen = new Map<string, number>();
      const newId = () => this.platform.ids.new('rec');
      records = body.map((item, i): PlainRecord => checkNewRecord(fields, item, i, seen, newId, problems));
      if (problems.length > 0) throw recordProblems(problems);
    }
    const ids = records.map((r) => r.id);
    await this.storeRecords(principal.tenantId, id, ids, async (tx, draft, row) => {
      const stored = protectedFields ? await this.protection.seal(tx, row, records, { operation: 'insert' }) : prepareRecords(records);
      await this.bulkInsert(tx, principal.tenantId, id, draft, stored);
    }).catch((err) => this.takenIds(err, id, async () => ids));
    return { inserted: records.length, ids };
  }

  /** A large bulk insert: each chunk inserted as the worker hands it over. */
  private async insertPipelined(principal: Principal, id: string, job: BulkJob): Promise<{ inserted: number; ids: string[] }> {
    const ids: string[] = [];
    await this.storeRecords(principal.tenantId, id, ids, async (tx, draft) => {
      for (let c = await job.next(); c; c = await job.next()) {
        for (const rid of c.ids) ids.push(rid);
        if ('prepared' in c) await this.bulkInsert(tx, principal.tenantId, id, draft, c.prepared);
      }
    }).catch((err) => {
      if (!isUniqueViolation(err)) job.discard();
      // A body error later in the body comes first (job.rest throws it); else the taken ids.
      return this.takenIds(err, id, async () => ids.concat(await job.rest()));
    });
    return { inserted: ids.length, ids };
  }

  /**
   * The transaction of a bulk insert: `insert` stores the records (taken client ids surface as a
   * unique violation: no lookup on the fast path), then the count and the event. `ids` is read
   * after `insert` has run.
   */
  private async storeRecords(
    tenantId: string,
    id: string,
    ids: string[],
    insert: (tx: Tx, draft: number, row: Row) => Promise<void>,
  ): Promise<void> {
    await this.platform.transaction(async (tx) => {
      const { draft, row } = await this.lockForRecordWrite(tx, tenantId, id);
      await insert(tx, draft, row);
      await tx
        .updateTable('datasets')
        .set({ record_count: sql`record_count + ${ids.length}`, updated_at: this.platform.clock.now() })
        .where('id', '=', id)
        .execute();
      await this.emit(tx, 'record.created', id, { dataset_id: id, ids, count: ids.length }, tenantId, id);
    });
  }

  /** Rethrows `err`; a unique violation of a bulk insert as the 409 naming the taken ids (`ids()`, in body order). */
  private async takenIds(err: unknown, id: string, ids: () => Promise<string[]>): Promise<never> {
    if (!isUniqueViolation(err)) throw err;
    const all = await ids();
    const index = new Map(all.map((rid, i) => [rid, i]));
    await this.assertIdsFree(this.db, id, all, (rid) => index.get(rid) ?? 0);
    throw new AppError('conflict', 409, 'A record with one of these ids already exists');
  }

  /**
   * Locks the dataset for a record write and returns the draft number. Record writes to one
   * dataset take turns (PostgreSQL; SQLite has one writer anyway), and a finalize waits for them:
   * each write ends by updating the dataset's row, which two writers holding share locks on it
   * would deadlock on.
   */
  async lockForRecordWrite(tx: Executor, tenantId: string, id: string): Promise<{ draft: number; row: Row }> {
    const row = await this.loadDataset(tx, tenantId, id, 'update');
    this.assertActive(row);
    return { draft: Number(row.draft_number), row };
  }

  /** 409 naming the client ids that already exist among live records. */
  async assertIdsFree(tx: Executor, datasetId: string, ids: string[], indexOf: (id: string) => number): Promise<void> {
    const taken = await this.existingIds(tx, datasetId, ids);
    if (taken.length > 0)
      throw new AppError(
        'conflict',
        409,
        `${taken.length} record id${taken.length === 1 ? '' : 's'} already exist${taken.length === 1 ? 's' : ''} in this dataset`,
        taken
          .slice(0, 1000)
          .map((rid) => ({ field: `[${indexOf(rid)}].id`, code: 'duplicate', message: `record id '${rid}' already exists` })),
      );
  }

  async existingIds(tx: Executor, datasetId: string, ids: string[]): Promise<string[]> {
    const taken: string[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = await tx
        .selectFrom('dataset_records')
        .select('id')
        .where('dataset_id', '=', datasetId)
        .where('valid_to', 'is', null)
        .where('id', 'in', chunk)
        .execute();
      for (const r of rows) taken.push(r.id);
    }
    return taken;
  }

  /**
   * Inserts prepared records in the caller's transaction, taking each from `rows` as it goes (a
   * lazy `prepareRecords` makes each record's text and hash only when it is stored), the fastest
   * way the dialect has; `data` is each record's canonical text.
   */
  async bulkInsert(tx: Executor, tenantId: string, datasetId: string, draft: number, rows: Iterable<PreparedRecord>): Promise<void> {
    const now = this.platform.clock.now();
    await this.dialect.bulkInsert(tx, {
      table: 'dataset_records',
      constants: {
        tenant_id: tenantId,
        dataset_id: datasetId,
        valid_from: draft,
        valid_to: null,
        revision: 1,
        created_at: now,
        updated_at: now,
      },
      columns: { id: 'text', data: 'json', hash: 'text', bytes: 'integer' },
      rows,
      values: (r) => [r.id, r.text, r.hash, r.bytes],
    });
  }

  private async liveRow(tx: Executor, datasetId: string, rid: string): Promise<Row> {
    let q = tx
      .selectFrom('dataset_records')
      .selectAll()
      .where('dataset_id', '=', datasetId)
      .where('id', '=', rid)
      .where('valid_to', 'is', null);
    q = this.dialect.forUpdate(q);
    let row = await q.executeTakeFirst();
    // PostgreSQL, READ COMMITTED: if a concurrent writer closed this row and opened a new one
    // while we waited for its lock, the new row was not in our statement's snapshot; a new
    // statement sees it (and its revision then decides If-Match).
    if (!row && this.dialect.rowLocks) row = await q.executeTakeFirst();
    if (!row) throw notFound('Record');
    return row;
  }

  /**
   * Applies a JSON merge patch to a record. In the draft a row created there is updated in
   * place; a row that belongs to finalized versions is closed (`valid_to` = draft) and a new row
   * opened, so those versions keep reading the old one. `If-Match` makes it conditional.
   */
  async updateRecord(
    principal: Principal,
    id: string,
    rid: string,
    patch: Record<string, unknown>,
    ifMatch?: string[],
  ): Promise<DatasetRecord & { etag: string }> {
    const ds = await this.authorizeWrite(principal, id);
    const fields = fromJson<DatasetSchema>(ds.row.schema).fields;
    return this.platform.transaction(async (tx) => {
      const { draft, row: dsRow } = await this.lockForRecordWrite(tx, principal.tenantId, id);
      const row = await this.liveRow(tx, id, rid);
      checkIfMatch(ifMatch, recordETag(Number(row.revision), row.hash), 'record');
      const [current] = await this.protection.open(tx, principal.tenantId, id, this.protection.encrypted(dsRow.schema), [row]);
      let data = mergePatch(fromJson(current.data), patch);
      const problems = validateRecord(fields, data);
      if (problems.length)
        throw new AppError(
          'validation_error',
          400,
          problems.map((p) => p.message).join('; '),
          problems.map((p) => ({ field: `data.${p.field}`, code: p.code, message: p.message })),
        );
      let { text, hash } = recordDigest(rid, data);
      if (this.protection.applies(dsRow))
        ({ text, hash, data } = (
          await this.protection.seal(tx, dsRow, [{ id: rid, data, only: Object.keys(patch) }], { operation: 'update' })
        )[0]);
      const revision = Number(row.revision) + 1;
      const now = this.platform.clock.now();
      if (Number(row.valid_from) === draft) {
        const r = await tx
          .updateTable('dataset_records')
          .set({ data: text, hash, bytes: Buffer.byteLength(text), revision, updated_at: now })
          .where('row_id', '=', row.row_id)
          .where('revision', '=', row.revision)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) throw preconditionFailed('record');
      } else {
        const r = await tx
          .updateTable('dataset_records')
          .set({ valid_to: draft })
          .where('row_id', '=', row.row_id)
          .where('valid_to', 'is', null)
          .where('revision', '=', row.revision)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) throw preconditionFailed('record');
        await tx
          .insertInto('dataset_records')
          .values({
            tenant_id: row.tenant_id,
            dataset_id: id,
            id: rid,
            valid_from: draft,
            valid_to: null,
            revision,
            data: text,
            hash,
            bytes: Buffer.byteLength(text),
            created_at: row.created_at,
            updated_at: now,
          })
          .execute();
      }
      await this.emit(tx, 'record.updated', rid, { dataset_id: id, id: rid, revision }, principal.tenantId, id);
      return {
        id: rid,
        data,
        revision,
        created_at: rfc3339(Number(row.created_at)),
        updated_at: rfc3339(now),
        etag: recordETag(revision, hash),
      };
    });
  }

  async deleteRecord(principal: Principal, id: string, rid: string, ifMatch?: string[]): Promise<void> {
    await this.authorizeWrite(principal, id);
    await this.platform.transaction(async (tx) => {
      const { draft } = await this.lockForRecordWrite(tx, principal.tenantId, id);
      const row = await this.liveRow(tx, id, rid);
      checkIfMatch(ifMatch, recordETag(Number(row.revision), row.hash), 'record');
      const r =
        Number(row.valid_from) === draft
          ? await tx.deleteFrom('dataset_records').where('row_id', '=', row.row_id).where('revision', '=', row.revision).executeTakeFirst()
          : await tx
              .updateTable('dataset_records')
              .set({ valid_to: draft })
              .where('row_id', '=', row.row_id)
              .where('valid_to', 'is', null)
              .where('revision', '=', row.revision)
              .executeTakeFirst();
      const n = 'numDeletedRows' in r ? Number(r.numDeletedRows) : Number(r.numUpdatedRows);
      if (n === 0) throw preconditionFailed('record');
      await tx
        .updateTable('datasets')
        .set({ record_count: sql`record_count - 1`, updated_at: this.platform.clock.now() })
        .where('id', '=', id)
        .execute();
      await this.emit(tx, 'record.deleted', id, { dataset_id: id, ids: [rid], count: 1 }, principal.tenantId, id);
    });
  }

  // ---- records: reads -------------------------------------------------------------------------

  async getRecord(principal: Principal, id: string, rid: string, version?: string): Promise<DatasetRecord & { etag: string }> {
    const ds = await this.authorize(principal, id, 'datasets:read');
    const v = await this.resolveVersion(ds, version);
    const row = await this.db
      .selectFrom('dataset_records')
      .selectAll()
      .where('dataset_id', '=', id)
      .where('id', '=', rid)
      .where(this.visibleAt(v))
      .executeTakeFirst();
    if (!row) throw notFound('Record');
    const [opened] = await this.protection.open(undefined, v.tenantId, id, v.encrypted, [row]);
    await this.auditRead(principal, ds, 'records.get', { record_ids: [rid], version_id: v.id });
    return { ...toRecord(opened), etag: recordETag(Number(row.revision), row.hash) };
  }

  /**
   * Filtered, sorted, projected, cursor-paginated records of the draft or a finalized version.
   * The cursor is HMAC-signed and bound to the query (filter, sort, version), and keyset-based
   * (sort value, id), so it is stable under concurrent inserts.
   */
  async queryRecords(
    principal: Principal,
    id: string,
    input: RecordQueryInput,
  ): Promise<{ items: DatasetRecord[]; pagination: Pagination; next?: string; version: VersionRef }> {
    const ds = await this.authorize(principal, id, 'datasets:read');
    const filter = input.filter === undefined ? undefined : parseFilter(input.filter);
    const fields = input.fields?.map((f) => parseFieldPath(f, 'fields'));
    const v = await this.resolveVersion(ds, input.version);
    const result = await this.runQuery(ds.id, v, filter, input, fields);
    await this.auditRead(principal, ds, 'records.query', { version_id: v.id, record_count: result.items.length });
    return { ...result, version: v };
  }

  private parseSort(sort: string | undefined): { path: string[] | null; desc: boolean } {
    if (!sort || sort === 'id') return { path: null, desc: false };
    if (sort === '-id') return { path: null, desc: true };
    const desc = sort.startsWith('-');
    return { path: parseFieldPath(desc ? sort.slice(1) : sort, 'sort'), desc };
  }

  async runQuery(
    datasetId: string,
    v: VersionRef,
    filter: FilterNode | undefined,
    input: { sort?: string; limit?: number; cursor?: string; count?: boolean },
    fields?: string[][],
  ): Promise<{ items: DatasetRecord[]; pagination: Pagination; next?: string }> {
    const limit = input.limit ?? 100;
    const sort = this.parseSort(input.sort);
    this.protection.assertQueryable(v.encrypted, { filter, sort: sort.path });
    // Bound to the query; the draft is named as such so a finalize between pages keeps the cursor valid.
    const scope = `records:${datasetId}:${sha256(JSON.stringify([input.sort ?? 'id', v.id ?? 'draft', filter ?? null])).slice(0, 24)}`;
    const base = () => {
      let q = this.db.selectFrom('dataset_records').where('dataset_id', '=', datasetId).where(this.visibleAt(v));
      if (filter) q = q.where(this.json.compile(filter));
      return q;
    };
    let q = base().select(['id', 'data', 'revision', 'created_at', 'updated_at']);
    const key = sort.path ? this.json.sortKey(sort.path) : undefined;
    if (key) q = q.select(key.as('sort_key'));
    if (input.cursor) {
      const c = this.platform.signer.verify<{ id: string; k?: unknown }>(input.cursor, `cursor:${scope}`);
      if (!c || typeof c.id !== 'string') throw invalidCursor();
      const cmp = sql.raw(sort.desc ? '<' : '>');
      if (!key) q = q.where(sql<SqlBool>`id ${cmp} ${c.id}`);
      else if (c.k === null || c.k === undefined) q = q.where(sql<SqlBool>`(${key} IS NULL AND id ${cmp} ${c.id})`);
      else {
        const k = this.json.param(c.k);
        q = q.where(
          sql<SqlBool>`((${key} IS NOT NULL AND (${key} ${cmp} ${k} OR (${key} = ${k} AND id ${cmp} ${c.id}))) OR ${key} IS NULL)`,
        );
      }
    }
    const dir = sort.desc ? sql.raw('DESC') : sql.raw('ASC');
    if (key) q = q.orderBy(sql`(${key} IS NULL)`).orderBy(sql`${key} ${dir}`);
    q = q.orderBy(sql`id ${dir}`);
    const rows = await q.limit(limit + 1).execute();
    const hasMore = rows.length > limit;
    const page = hasMore ? rows.slice(0, limit) : rows;
    let next: string | undefined;
    if (hasMore) {
      const last = page[page.length - 1] as Row;
      // PostgreSQL hands jsonb back as JSON text, SQLite the SQL value: each is fed back as it came.
      next = this.platform.signer.sign(key ? { id: last.id, k: last.sort_key ?? null } : { id: last.id }, `cursor:${scope}`);
    }
    const pagination: Pagination = { has_more: hasMore, page_size: page.length, ...(next ? { cursor: next } : {}) };
    if (input.count) {
      const n = await base()
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      pagination.total_count = Number(n.n);
    }
    const opened = await this.protection.open(undefined, v.tenantId, datasetId, v.encrypted, page);
    return { items: opened.map((r) => toRecord(r, fields)), pagination, next };
  }

  /** Every record of a version matching a filter, in id order, in pages (exports). */
  async *scanRecords(datasetId: string, v: VersionRef, filter: FilterNode | undefined, pageSize = 1000): AsyncGenerator<Row[]> {
    this.protection.assertQueryable(v.encrypted, { filter });
    let after: string | undefined;
    for (;;) {
      let q = this.db.selectFrom('dataset_records').select(['id', 'data']).where('dataset_id', '=', datasetId).where(this.visibleAt(v));
      if (filter) q = q.where(this.json.compile(filter));
      if (after !== undefined) q = q.where('id', '>', after);
      const rows = await q.orderBy('id').limit(pageSize).execute();
      if (rows.length > 0) yield await this.protection.open(undefined, v.tenantId, datasetId, v.encrypted, rows);
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1].id;
    }
  }

  // ---- stats ----------------------------------------------------------------------------------

  async stats(principal: Principal, id: string, version?: string): Promise<DatasetStats> {
    const ds = await this.authorize(principal, id, 'datasets:read');
    const v = await this.resolveVersion(ds, version);
    const schema = v.id
      ? fromJson<DatasetSchema>(
          (await this.db.selectFrom('dataset_versions').select('schema').where('id', '=', v.id).executeTakeFirstOrThrow()).schema,
        )
      : fromJson<DatasetSchema>(ds.row.schema);
    const scoped = () => this.db.selectFrom('dataset_records').where('dataset_id', '=', id).where(this.visibleAt(v));
    const totals = await scoped()
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('bytes').as('bytes')])
      .executeTakeFirstOrThrow();
    const out: DatasetStats = {
      dataset_id: id,
      version_id: v.id,
      record_count: Number(totals.n),
      bytes: Number(totals.bytes ?? 0),
      fields: [],
    };
    // Encrypted fields: SQL sees ciphertexts, so their statistics come from one scan of decrypted values.
    const sealed = new Map(schema.fields.filter((f) => v.encrypted.includes(f.name)).map((f) => [f.name, new FieldStatsAccumulator(f)]));
    if (sealed.size > 0)
      for await (const page of this.scanRecords(id, v, undefined, SCAN_PAGE))
        for (const r of page) for (const acc of sealed.values()) acc.add(fromJson(r.data));
    for (const f of schema.fields) {
      const acc = sealed.get(f.name);
      if (acc) {
        out.fields.push(acc.result());
        continue;
      }
      const path = [f.name];
      const x = this.json.value(path);
      const nullCond = this.json.compile({ kind: 'cmp', path, op: '$eq', value: null });
      const numeric = f.type === 'integer' || f.type === 'number';
      const ordered = numeric || f.type === 'datetime';
      // "is a number" / "is a string", in the filter compiler's typed semantics
      const typed = this.json.compile({ kind: 'cmp', path, op: '$gte', value: numeric ? -Number.MAX_VALUE : '' });
      const scalar = !ordered ? sql`NULL` : this.json.orderedScalar(path, numeric);
      const agg = await sql<{ nulls: number; distinct_n: number; min_v: unknown; max_v: unknown }>`
        SELECT SUM(CASE WHEN ${nullCond} THEN 1 ELSE 0 END) AS nulls, COUNT(DISTINCT ${x}) AS distinct_n,
               MIN(CASE WHEN ${typed} THEN ${scalar} END) AS min_v, MAX(CASE WHEN ${typed} THEN ${scalar} END) AS max_v
        FROM dataset_records WHERE dataset_id = ${id} AND ${this.visibleAt(v)}`.execute(this.db);
      const a = agg.rows[0];
      const top =
        f.type === 'object' || f.type === 'array'
          ? []
          : await sql<{ value: unknown; n: number }>`
              SELECT ${x} AS value, COUNT(*) AS n FROM dataset_records
              WHERE dataset_id = ${id} AND ${this.visibleAt(v)} AND NOT ${nullCond}
              GROUP BY ${x} ORDER BY COUNT(*) DESC, ${x} LIMIT 5`
              .execute(this.db)
              .then((r) => r.rows);
      const decode = (raw: unknown): unknown => this.json.decode(raw, f.type === 'boolean');
      const bound = (raw: unknown) => (raw == null ? null : numeric ? Number(raw) : String(raw));
      out.fields.push({
        name: f.name,
        type: f.type,
        null_count: Number(a.nulls ?? 0),
        distinct_estimate: Number(a.distinct_n ?? 0),
        ...(ordered ? { min: bound(a.min_v), max: bound(a.max_v) } : {}),
        top_values: top.map((t) => ({ value: decode(t.value), count: Number(t.n) })),
      });
    }
    await this.auditRead(principal, ds, 'datasets.stats', { version_id: v.id });
    return out;
  }

  // ---- indexes --------------------------------------------------------------------------------

  private indexName(field: string): string {
    return `dataset_records_f_${sha256(field).slice(0, 20)}`;
  }

  /**
   * Creates an expression index on a field for every dataset that asks (shared per field):
   * `(dataset_id, <field expression>, id)`, so equality filters on the field read in id order.
   */
  async createIndex(principal: Principal, id: string, field: string): Promise<DatasetIndex> {
    const ds = await this.authorizeWrite(principal, id);
    const path = parseFieldPath(field, 'field');
    this.protection.assertQueryable(this.protection.encrypted(ds.row.schema), { index: path });
    const name = this.indexName(field);
    const expr = this.json.value(path);
    await sql`CREATE INDEX IF NOT EXISTS ${sql.id(name)} ON dataset_records (dataset_id, (${expr}), id)`.execute(this.db);
    await this.dialect.analyzeAfterIndex(this.db, 'dataset_records');
    const existing = await this.db
      .selectFrom('dataset_indexes')
      .selectAll()
      .where('dataset_id', '=', id)
      .where('field', '=', field)
      .executeTakeFirst();
    if (existing) return { id: existing.id, field, created_at: rfc3339(Number(existing.created_at)) };
    const idxId = this.platform.ids.new('idx');
    const now = this.platform.clock.now();
    await this.platform.transaction(async (tx) => {
      await tx
        .insertInto('dataset_indexes')
        .values({ id: idxId, tenant_id: principal.tenantId, dataset_id: id, field, sql_name: name, created_at: now })
        .execute();
      await this.emit(tx, 'dataset.updated', id, { id, changed: ['indexes'], index: { id: idxId, field } }, principal.tenantId, id);
    });
    return { id: idxId, field, created_at: rfc3339(now) };
  }

  async listIndexes(principal: Principal, id: string): Promise<DatasetIndex[]> {
    await this.authorize(principal, id, 'datasets:read');
    const rows = await this.db.selectFrom('dataset_indexes').selectAll().where('dataset_id', '=', id).orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, field: r.field, created_at: rfc3339(Number(r.created_at)) }));
  }

  async deleteIndex(principal: Principal, id: string, indexId: string): Promise<void> {
    await this.authorizeWrite(principal, id);
    const row = await this.db
      .selectFrom('dataset_indexes')
      .selectAll()
      .where('dataset_id', '=', id)
      .where('id', '=', indexId)
      .executeTakeFirst();
    if (!row) throw notFound('Index');
    await this.platform.transaction(async (tx) => {
      await tx.deleteFrom('dataset_indexes').where('id', '=', indexId).execute();
      await this.emit(
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

  private async dropIndexIfUnused(name: string): Promise<void> {
    const used = await this.db.selectFrom('dataset_indexes').select('id').where('sql_name', '=', name).limit(1).executeTakeFirst();
    if (!used) await sql`DROP INDEX IF EXISTS ${sql.id(name)}`.execute(this.db);
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
