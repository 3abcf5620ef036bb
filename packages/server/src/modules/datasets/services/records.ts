import { type DatasetRecord, type DatasetSchema, MAX_RECORDS_PER_CALL, type NewRecord, type Pagination } from '@loam/api';
import type { RequestContext } from '../../../platform/context.js';
import { sha256 } from '../../../platform/crypto/index.js';
import { type Executor, fromJson } from '../../../platform/db/index.js';
import { rfc3339 } from '../../../platform/http/context.js';
import { keysetPage } from '../../../platform/http/pagination.js';
import { checkIfMatch, preconditionFailed } from '../../../platform/http/etag.js';
import { AppError, type FieldError, notFound } from '../../../platform/errors.js';
import { RawBody } from '../../../platform/http/lazy-compilers.js';
import type { Tx } from '../../../platform/index.js';
import { BULK_CHUNK, type BulkJob, BulkParser, BulkStream, type RecordPart, tooManyRecords } from '../bulk.js';
import { type FilterNode, parseFieldPath, parseFilter } from '../filter.js';
import type { PlainRecord } from '../protection.js';
import {
  type PreparedRecord,
  checkNewRecord,
  mergePatch,
  prepareRecords,
  recordDigest,
  recordProblems,
  validateRecord,
} from '../records.js';
import { toRecord } from '../store/index.js';
import type { DatasetRow, RecordRow } from '../tables.js';
import { RecordQuota } from './quota.js';
import { type DatasetCore, type RecordQueryInput, type VersionRef, isUniqueViolation, recordETag, scopeOf } from './core.js';

/** A record as StreamRecords reads it: its data as JSON text, its times as epoch ms. */
export interface StreamedRecord {
  id: string;
  json: string;
  revision: number;
  createdAt: number;
  updatedAt: number;
}

/**
 * Records of a streamed bulk insert that may wait, read from the stream, for their turn to be
 * inserted: enough for the worker to check and prepare parts well ahead of the inserts (as it
 * runs ahead through a REST body), so the inserting thread never waits on it.
 */
const STREAM_AHEAD = 8 * BULK_CHUNK;

/** A dataset's records: validated writes (single, bulk, pipelined) and filtered reads of the draft or a version. */
export class RecordService {
  /** Parses large bulk inserts on a worker thread (started on first use). */
  private readonly bulk = new BulkParser();

  constructor(private readonly core: DatasetCore) {}

  /** Stops the bulk-parse worker. */
  close(): Promise<void> {
    return this.bulk.close();
  }

  /**
   * Inserts up to 10,000 records atomically: every record is validated (400 with the index and
   * field of each problem, nothing inserted), client ids must be new (409), and one
   * `record.created` event lists the ids. A large body arrives unparsed (`RawBody`): a worker
   * thread parses, validates and prepares it in chunks while this thread inserts them in the
   * call's transaction (bulk.ts); a failure anywhere in the body rolls the whole call back.
   */
  async insertRecords(ctx: RequestContext, id: string, body: NewRecord[] | RawBody): Promise<{ inserted: number; ids: string[] }> {
    const ds = await this.core.authorizeRecords(ctx, id, 'datasets:write');
    const fields = fromJson<DatasetSchema>(ds.row.schema).fields;
    const protectedFields = this.core.protection.applies(ds.row);
    let records: PlainRecord[];
    // Refused before parsing when the quota is already used up (a large body's size is known only
    // once parsed); the transaction checks the records it stores (RecordQuota).
    await this.core.platform.checkQuota(ctx.tenantId, 'records', body instanceof RawBody ? 1 : body.length);
    if (body instanceof RawBody) {
      const job = await this.bulk.parse(body, fields, this.core.platform.clock.now(), protectedFields ? 'records' : 'prepared');
      if (!protectedFields) return this.insertPipelined(ctx.tenantId, id, job);
      records = [];
      for (let c = await job.next(); c; c = await job.next()) if ('records' in c) records.push(...c.records);
    } else {
      if (body.length === 0) throw new AppError('validation_error', 400, 'Send at least one record');
      if (body.length > MAX_RECORDS_PER_CALL) throw tooManyRecords();
      const problems: FieldError[] = [];
      const seen = new Map<string, number>();
      const newId = () => this.core.platform.ids.new('rec');
      records = body.map((item, i): PlainRecord => checkNewRecord(fields, item, i, seen, newId, problems));
      if (problems.length > 0) throw recordProblems(problems);
    }
    const ids = records.map((r) => r.id);
    await this.storeRecords(ctx.tenantId, id, ids, async (tx, draft, row, quota) => {
      await quota.add(tx, records.length);
      const stored = protectedFields ? await this.core.protection.seal(tx, row, records, { operation: 'insert' }) : prepareRecords(records);
      await this.bulkInsert(tx, ctx.tenantId, id, draft, stored);
    }).catch((err) => this.takenIds(err, ctx.tenantId, id, async () => ids));
    return { inserted: records.length, ids };
  }

  /**
   * A streamed bulk insert (gRPC `BulkInsertRecords`) on the REST bulk insert's path: the worker
   * thread checks each part as the REST bulk insert checks its records (schema, ids, repeats
   * across the whole stream) and prepares it, while this thread inserts the parts before it, all
   * in one transaction. A problem in any record, a taken id, more than `max` records, a failing
   * stream or an aborted `signal` (deadline, cancel) rolls the whole call back. The stream is read
   * no faster than it is inserted (at most STREAM_AHEAD records wait).
   */
  async insertRecordStream(
    ctx: RequestContext,
    id: string,
    parts: AsyncIterable<RecordPart>,
    opts: { max: number; signal?: AbortSignal },
  ): Promise<{ inserted: number; ids: string[] }> {
    const ds = await this.core.authorizeRecords(ctx, id, 'datasets:write');
    // Refused before the stream is read when the quota is already used up; each part is checked as it is stored.
    await this.core.platform.checkQuota(ctx.tenantId, 'records', 1);
    const fields = fromJson<DatasetSchema>(ds.row.schema).fields;
    const mode = this.core.protection.applies(ds.row) ? 'records' : 'prepared';
    const job = await this.bulk.stream(fields, this.core.platform.clock.now(), mode);
    const feed = async () => {
      let count = 0;
      for await (const part of parts) {
        if (job.over) return; // the insert failed: read no further
        count += part.ids.length;
        if (count > opts.max) throw new AppError('payload_too_large', 413, `At most ${opts.max} records per stream; split the upload`);
        job.feed(part);
        await job.room(STREAM_AHEAD);
      }
      if (count === 0) throw new AppError('validation_error', 400, 'Send at least one record');
      job.end();
    };
    feed().catch((err) => job.abort(err));
    return this.insertPipelined(ctx.tenantId, id, job, opts.signal);
  }

  /**
   * A bulk insert whose records the worker thread prepares (a large REST body, a gRPC stream):
   * each chunk inserted as the worker hands it over (sealed first if the dataset protects fields).
   */
  private async insertPipelined(
    tenantId: string,
    id: string,
    job: BulkJob,
    signal?: AbortSignal,
  ): Promise<{ inserted: number; ids: string[] }> {
    const ids: string[] = [];
    await this.storeRecords(
      tenantId,
      id,
      ids,
      async (tx, draft, row, quota) => {
        for (let c = await job.next(); c; c = await job.next()) {
          signal?.throwIfAborted();
          await quota.add(tx, c.ids.length);
          for (const rid of c.ids) ids.push(rid);
          const stored = 'prepared' in c ? c.prepared : await this.core.protection.seal(tx, row, c.records, { operation: 'insert' });
          await this.bulkInsert(tx, tenantId, id, draft, stored);
        }
      },
      signal,
    ).catch((err) => {
      // A body error later in the body comes first (job.rest throws it), then the taken ids; a
      // stream is not read on for them (the ids so far).
      const streamed = job instanceof BulkStream;
      if (streamed || !isUniqueViolation(err)) job.discard();
      return this.takenIds(err, tenantId, id, async () => (streamed ? ids : ids.concat(await job.rest())));
    });
    return { inserted: ids.length, ids };
  }

  /**
   * The transaction of a bulk insert: `insert` stores the records (taken client ids surface as a
   * unique violation: no lookup on the fast path), each part after `quota.add` (the tenant's
   * records quota), then the count and the event. `ids` is read after `insert` has run. An
   * aborted `signal` (a streamed insert's call) rolls it back.
   */
  private async storeRecords(
    tenantId: string,
    id: string,
    ids: string[],
    insert: (tx: Tx, draft: number, row: DatasetRow, quota: RecordQuota) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.core.platform.transaction(async (tx) => {
      const { draft, row } = await this.lockForRecordWrite(tx, tenantId, id);
      await insert(tx, draft, row, new RecordQuota(this.core.platform, tenantId));
      await this.core.store.datasets.addRecords(tx, tenantId, id, ids.length, this.core.platform.clock.now());
      await this.core.emit(tx, 'record.created', id, { dataset_id: id, ids, count: ids.length }, tenantId, id);
      // Every stored record passed the schema's validation (a failing one refuses the whole write).
      await this.core.emit(
        tx,
        'record.validated',
        id,
        { dataset_id: id, ids, count: ids.length, valid: ids.length, invalid: 0 },
        tenantId,
        id,
      );
      await this.core.emit(
        tx,
        'version.records_added',
        id,
        { dataset_id: id, version: 'draft', number: draft, ids, count: ids.length },
        tenantId,
        id,
      );
      signal?.throwIfAborted(); // the last moment a cancelled call can still roll back
    });
  }

  /** Rethrows `err`; a unique violation of a bulk insert as the 409 naming the taken ids (`ids()`, in body order). */
  private async takenIds(err: unknown, tenantId: string, id: string, ids: () => Promise<string[]>): Promise<never> {
    if (!isUniqueViolation(err)) throw err;
    const all = await ids();
    const index = new Map(all.map((rid, i) => [rid, i]));
    await this.assertIdsFree(this.core.db, tenantId, id, all, (rid) => index.get(rid) ?? 0);
    throw new AppError('conflict', 409, 'A record with one of these ids already exists');
  }

  /**
   * Locks the dataset for a record write and returns the draft number. Record writes to one
   * dataset take turns (PostgreSQL; SQLite has one writer anyway), and a finalize waits for them:
   * each write ends by updating the dataset's row, which two writers holding share locks on it
   * would deadlock on.
   */
  async lockForRecordWrite(tx: Executor, tenantId: string, id: string): Promise<{ draft: number; row: DatasetRow }> {
    const row = await this.core.loadDataset(tx, tenantId, id, 'update');
    this.core.assertActive(row);
    return { draft: row.draft_number, row };
  }

  /** 409 naming the client ids that already exist among live records. */
  async assertIdsFree(tx: Executor, tenantId: string, datasetId: string, ids: string[], indexOf: (id: string) => number): Promise<void> {
    const taken = await this.core.store.records.existingIds(tx, tenantId, datasetId, ids);
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

  /**
   * Inserts prepared records in the caller's transaction, taking each from `rows` as it goes (a
   * lazy `prepareRecords` makes each record's text and hash only when it is stored), the fastest
   * way the dialect has; `data` is each record's canonical text.
   */
  async bulkInsert(tx: Executor, tenantId: string, datasetId: string, draft: number, rows: Iterable<PreparedRecord>): Promise<void> {
    await this.core.store.records.bulkInsert(tx, { tenantId, datasetId, draft, now: this.core.platform.clock.now() }, rows);
  }

  private async liveRow(tx: Executor, tenantId: string, datasetId: string, rid: string): Promise<RecordRow> {
    const row = await this.core.store.records.liveRow(tx, tenantId, datasetId, rid);
    if (!row) throw notFound('Record');
    return row;
  }

  /**
   * Applies a JSON merge patch to a record. In the draft a row created there is updated in
   * place; a row that belongs to finalized versions is closed (`valid_to` = draft) and a new row
   * opened, so those versions keep reading the old one. `If-Match` makes it conditional.
   */
  async updateRecord(
    ctx: RequestContext,
    id: string,
    rid: string,
    patch: Record<string, unknown>,
    ifMatch?: string[],
  ): Promise<DatasetRecord & { etag: string }> {
    const ds = await this.core.authorizeRecords(ctx, id, 'datasets:write', rid);
    const fields = fromJson<DatasetSchema>(ds.row.schema).fields;
    const tenantId = ctx.tenantId;
    return this.core.platform.transaction(async (tx) => {
      const { draft, row: dsRow } = await this.lockForRecordWrite(tx, tenantId, id);
      const row = await this.liveRow(tx, tenantId, id, rid);
      checkIfMatch(ifMatch, recordETag(row.revision, row.hash), 'record');
      const [current] = await this.core.protection.open(tx, tenantId, id, this.core.protection.encrypted(dsRow.schema), [row]);
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
      if (this.core.protection.applies(dsRow))
        ({ text, hash, data } = (
          await this.core.protection.seal(tx, dsRow, [{ id: rid, data, only: Object.keys(patch) }], { operation: 'update' })
        )[0]);
      const revision = row.revision + 1;
      const now = this.core.platform.clock.now();
      const bytes = Buffer.byteLength(text);
      const records = this.core.store.records;
      if (row.valid_from === draft) {
        if (!(await records.rewrite(tx, row, { data: text, hash, bytes, revision, updated_at: now }))) throw preconditionFailed('record');
      } else {
        if (!(await records.close(tx, row, draft))) throw preconditionFailed('record');
        await records.insert(tx, {
          tenant_id: row.tenant_id,
          dataset_id: id,
          id: rid,
          valid_from: draft,
          valid_to: null,
          revision,
          data: text,
          hash,
          bytes,
          created_at: row.created_at,
          updated_at: now,
        });
      }
      await this.core.emit(tx, 'record.updated', rid, { dataset_id: id, id: rid, revision }, tenantId, id);
      await this.core.emit(
        tx,
        'version.records_updated',
        id,
        { dataset_id: id, version: 'draft', number: draft, ids: [rid], count: 1 },
        tenantId,
        id,
      );
      return {
        id: rid,
        data,
        revision,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(now),
        etag: recordETag(revision, hash),
      };
    });
  }

  async deleteRecord(ctx: RequestContext, id: string, rid: string, ifMatch?: string[]): Promise<void> {
    await this.core.authorizeRecords(ctx, id, 'datasets:write', rid);
    const tenantId = ctx.tenantId;
    await this.core.platform.transaction(async (tx) => {
      const { draft } = await this.lockForRecordWrite(tx, tenantId, id);
      const row = await this.liveRow(tx, tenantId, id, rid);
      checkIfMatch(ifMatch, recordETag(row.revision, row.hash), 'record');
      const records = this.core.store.records;
      const done = row.valid_from === draft ? await records.deleteRow(tx, row) : await records.close(tx, row, draft);
      if (!done) throw preconditionFailed('record');
      await this.core.store.datasets.addRecords(tx, tenantId, id, -1, this.core.platform.clock.now());
      await this.core.emit(tx, 'record.deleted', id, { dataset_id: id, ids: [rid], count: 1 }, tenantId, id);
    });
  }

  // ---- records: reads -------------------------------------------------------------------------

  async getRecord(ctx: RequestContext, id: string, rid: string, version?: string): Promise<DatasetRecord & { etag: string }> {
    const ds = await this.core.authorizeRecords(ctx, id, 'datasets:read', rid);
    const v = await this.core.resolveVersion(ctx, ds, version);
    const row = await this.core.store.records.find(this.core.db, scopeOf(v), rid);
    if (!row) throw notFound('Record');
    const [opened] = await this.core.protection.open(undefined, v.tenantId, id, v.encrypted, [row]);
    await this.core.auditRead(ctx, ds, 'records.get', { record_ids: [rid], version_id: v.id });
    return { ...toRecord(opened), etag: recordETag(row.revision, row.hash) };
  }

  /**
   * Filtered, sorted, projected, cursor-paginated records of the draft or a finalized version.
   * The cursor is HMAC-signed and bound to the query (filter, sort, version), and keyset-based
   * (sort value, id), so it is stable under concurrent inserts.
   */
  async queryRecords(
    ctx: RequestContext,
    id: string,
    input: RecordQueryInput,
  ): Promise<{ items: DatasetRecord[]; pagination: Pagination; version: VersionRef }> {
    const ds = await this.core.authorizeRecords(ctx, id, 'datasets:read');
    const filter = input.filter === undefined ? undefined : parseFilter(input.filter);
    const fields = input.fields?.map((f) => parseFieldPath(f, 'fields'));
    const v = await this.core.resolveVersion(ctx, ds, input.version);
    const result = await this.runQuery(v, filter, input, fields);
    await this.core.auditRead(ctx, ds, 'records.query', { version_id: v.id, record_count: result.items.length });
    return { ...result, version: v };
  }

  private parseSort(sort: string | undefined): { path: string[] | null; desc: boolean } {
    if (!sort || sort === 'id') return { path: null, desc: false };
    if (sort === '-id') return { path: null, desc: true };
    const desc = sort.startsWith('-');
    return { path: parseFieldPath(desc ? sort.slice(1) : sort, 'sort'), desc };
  }

  async runQuery(
    v: VersionRef,
    filter: FilterNode | undefined,
    input: { sort?: string; limit?: number; cursor?: string; count?: boolean },
    fields?: string[][],
  ): Promise<{ items: DatasetRecord[]; pagination: Pagination }> {
    const sort = this.parseSort(input.sort);
    this.core.protection.assertQueryable(v.encrypted, { filter, sort: sort.path });
    // Bound to the query; the draft is named as such so a finalize between pages keeps the cursor valid.
    const scope = `records:${v.datasetId}:${sha256(JSON.stringify([input.sort ?? 'id', v.id ?? 'draft', filter ?? null])).slice(0, 24)}`;
    const where = filter ? this.core.json.compile(filter) : undefined;
    const key = sort.path ? this.core.json.sortKey(sort.path) : undefined;
    const { items: page, pagination } = await keysetPage(input, {
      signer: this.core.platform.signer,
      scope,
      fetch: (from, reverse, n) =>
        this.core.store.records.page(this.core.db, scopeOf(v), { where, key, desc: sort.desc, from, reverse, limit: n }),
      // PostgreSQL hands jsonb back as JSON text, SQLite the SQL value: each is fed back as it came.
      keyOf: (row) => (key ? [(row.sort_key as string | number | null | undefined) ?? null, row.id] : [row.id]),
      count: () => this.core.store.records.count(this.core.db, scopeOf(v), where),
    });
    const opened = await this.core.protection.open(undefined, v.tenantId, v.datasetId, v.encrypted, page);
    return { items: opened.map((r) => toRecord(r, fields)), pagination };
  }

  /**
   * Every record of the draft or a version matching a filter, whole, in id order, one keyset page
   * at a time as the caller asks for the next (gRPC `StreamRecords`: memory stays at one page).
   * Each record's data is its JSON text as stored (not parsed only to be written again), its times
   * epoch ms. Checks access and audits the read first; an aborted `signal` stops before the next
   * page is read.
   */
  async *streamRecords(
    ctx: RequestContext,
    id: string,
    input: { version?: string; filter?: unknown },
    opts: { pageSize?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<StreamedRecord[]> {
    const ds = await this.core.authorizeRecords(ctx, id, 'datasets:read');
    const filter = input.filter === undefined ? undefined : parseFilter(input.filter);
    const v = await this.core.resolveVersion(ctx, ds, input.version);
    this.core.protection.assertQueryable(v.encrypted, { filter });
    await this.core.auditRead(ctx, ds, 'records.stream', { version_id: v.id });
    const where = filter ? this.core.json.compile(filter) : undefined;
    const pageSize = opts.pageSize ?? 1000;
    // Only the page handed out is referenced here (not its rows): what the caller has sent of it
    // can be collected while the rest is sent.
    const page = async (after: string | undefined) => {
      const rows = await this.core.store.records.scanPage(this.core.db, scopeOf(v), where, after, pageSize, true);
      const opened = await this.core.protection.open(undefined, v.tenantId, id, v.encrypted, rows as RecordRow[]);
      const records = opened.map(
        (r): StreamedRecord => ({
          id: r.id,
          json: typeof r.data === 'string' ? r.data : JSON.stringify(r.data),
          revision: r.revision,
          createdAt: r.created_at,
          updatedAt: r.updated_at,
        }),
      );
      return { records, last: rows.length === pageSize ? rows[rows.length - 1].id : undefined };
    };
    let after: string | undefined;
    do {
      opts.signal?.throwIfAborted();
      const next = await page(after);
      after = next.last;
      if (next.records.length > 0) yield next.records;
    } while (after !== undefined);
  }

  /** Every record of a version matching a filter, in id order, in pages (exports). */
  async *scanRecords(
    datasetId: string,
    v: VersionRef,
    filter: FilterNode | undefined,
    pageSize = 1000,
  ): AsyncGenerator<Array<{ id: string; data: unknown }>> {
    this.core.protection.assertQueryable(v.encrypted, { filter });
    const where = filter ? this.core.json.compile(filter) : undefined;
    const scope = { ...scopeOf(v), datasetId };
    let after: string | undefined;
    for (;;) {
      const rows = await this.core.store.records.scanPage(this.core.db, scope, where, after, pageSize);
      if (rows.length > 0) yield await this.core.protection.open(undefined, v.tenantId, datasetId, v.encrypted, rows);
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1].id;
    }
  }
}
