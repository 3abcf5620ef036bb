import { Readable } from 'node:stream';
import type { CreateExport, DatasetExport, DatasetImport, DatasetSchema, ExportFormat, ImportError, SchemaField } from '@loam/api';
import { sql } from 'kysely';
import { fromJson, toJson } from '../../platform/db/index.js';
import { invalidCursor, rfc3339, rfc3339OrNull } from '../../platform/http/context.js';
import { AppError, notFound } from '../../platform/http/errors.js';
import type { Platform } from '../../platform/index.js';
import type { JobContext } from '../../platform/jobs/queue.js';
import type { Principal } from '../../platform/principal.js';
import { type FilterNode, parseFilter } from './filter.js';
import { prepareRecords, validateRecord } from './records.js';
import type { DatasetService } from './services/datasets.js';
import { type ParsedLine, csvCell, parseCsvRecord, splitId, splitRecords, typedCell } from './transfer-formats.js';

export const IMPORT_JOB = 'datasets.import';
export const EXPORT_JOB = 'datasets.export';
const CONTENT_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
};

// biome-ignore lint/suspicious/noExplicitAny: raw rows
type Row = any;

function toImport(row: Row): DatasetImport {
  return {
    id: row.id,
    dataset_id: row.dataset_id,
    format: row.format,
    status: row.status,
    total: Number(row.total),
    processed: Number(row.processed),
    failed: Number(row.failed),
    job_id: row.job_id,
    error: row.error ?? null,
    created_at: rfc3339(Number(row.created_at)),
    finished_at: rfc3339OrNull(row.finished_at == null ? null : Number(row.finished_at)),
  };
}

/**
 * Imports (NDJSON or CSV into the draft, chunk by chunk, resumable) and exports (NDJSON, CSV or
 * JSON into the blob store), both as jobs with a resource to follow them by.
 */
export class DatasetTransfers {
  constructor(
    private readonly platform: Platform,
    private readonly datasets: DatasetService,
  ) {}

  private get db() {
    return this.platform.database.db;
  }

  register(): void {
    this.platform.jobs.register<{ import_id: string }>(
      IMPORT_JOB,
      (ctx) => this.runImport(ctx.job.payload.import_id, { signal: ctx.signal }),
      {
        maxAttempts: 5,
        backoffMs: 1000,
      },
    );
    this.platform.jobs.register<{ export_id: string }>(
      EXPORT_JOB,
      (ctx: JobContext<{ export_id: string }>) => this.runExport(ctx.job.payload.export_id),
      {
        maxAttempts: 3,
        backoffMs: 1000,
      },
    );
  }

  // ---- import ---------------------------------------------------------------------------------

  /**
   * Keeps the uploaded file in the blob store and queues the import. `blobKey` imports an object
   * the tenant uploaded before (its key starts with the tenant id).
   */
  async startImport(
    principal: Principal,
    datasetId: string,
    source: { body: Buffer; format: 'ndjson' | 'csv' } | { blobKey: string; format: 'ndjson' | 'csv' },
    idField = 'id',
  ): Promise<{ importId: string; jobId: string }> {
    const ds = await this.datasets.authorize(principal, datasetId, 'datasets:write');
    if (ds.row.status === 'archived') throw new AppError('dataset_archived', 409, 'The dataset is archived: restore it before importing');
    const importId = this.platform.ids.new('imp');
    let key: string;
    let body: Buffer;
    if ('body' in source) {
      if (source.body.length === 0) throw new AppError('validation_error', 400, 'The uploaded file is empty');
      key = `${principal.tenantId}/dataset-imports/${importId}.${source.format}`;
      await this.platform.blob.put(key, source.body, source.format === 'csv' ? 'text/csv' : 'application/x-ndjson');
      body = source.body;
    } else {
      if (!source.blobKey.startsWith(`${principal.tenantId}/`)) throw notFound('Blob');
      const found = await this.platform.blob.read(source.blobKey, { maxBytes: this.platform.config.bodyLimit * 64 });
      if (!found) throw notFound('Blob');
      key = source.blobKey;
      body = found;
    }
    const text = body.toString('utf8');
    let total = 0;
    for (const l of splitRecords(text, source.format, 0, 0)) if (l.text.trim() !== '') total++;
    if (source.format === 'csv' && total > 0) total--; // the header
    const now = this.platform.clock.now();
    const jobId = await this.platform.transaction(async (tx) => {
      const job = await this.platform.jobs.enqueue(tx, IMPORT_JOB, { import_id: importId }, { tenantId: principal.tenantId });
      await tx
        .insertInto('dataset_imports')
        .values({
          id: importId,
          tenant_id: principal.tenantId,
          dataset_id: datasetId,
          format: source.format,
          id_field: idField,
          file: key,
          status: 'queued',
          total,
          processed: 0,
          failed: 0,
          byte_offset: 0,
          line_offset: 0,
          job_id: job.id,
          created_by: principal.subject,
          created_at: now,
        })
        .execute();
      await this.datasets.lineage.addLineage(tx, {
        tenantId: principal.tenantId,
        datasetId,
        nodes: [{ id: importId, type: 'import', label: `import (${source.format})`, attributes: { format: source.format, total } }],
        edges: [{ from: importId, to: datasetId, relation: 'imported_into' }],
      });
      return job.id;
    });
    return { importId, jobId };
  }

  /**
   * Processes an import from where its last committed chunk ended. Each chunk's records, its
   * line errors, the counters and the new offset commit in one transaction, so a crash loses at
   * most the chunk in flight and a rerun neither skips nor duplicates lines. `maxChunks` lets
   * tests stop part-way as a crash would.
   */
  async runImport(importId: string, opts: { maxChunks?: number; signal?: AbortSignal } = {}): Promise<unknown> {
    const imp = await this.db.selectFrom('dataset_imports').selectAll().where('id', '=', importId).executeTakeFirst();
    if (!imp || imp.status === 'succeeded' || imp.status === 'failed') return imp ? toImport(imp) : null;
    const body = await this.platform.blob.read(imp.file);
    if (!body) {
      await this.finishImport(importId, 'failed', 'The uploaded file is gone');
      return null;
    }
    await this.db.updateTable('dataset_imports').set({ status: 'running' }).where('id', '=', importId).execute();
    const text = body.toString('utf8');
    const format = imp.format as 'ndjson' | 'csv';
    const chunkSize = this.platform.config.datasetImportChunkSize;
    let header: string[] | undefined;
    // `committed` is the offset the row holds (the claim checks it); a CSV header is skipped on top.
    let committed = Number(imp.byte_offset);
    let offset = committed;
    let lineNo = Number(imp.line_offset);
    if (format === 'csv') {
      const first = splitRecords(text, 'csv', 0, 0).next();
      if (!first.done) {
        header = parseCsvRecord(first.value.text).map((h) => h.trim());
        if (offset === 0) {
          offset = first.value.end;
          lineNo = 1;
        }
      }
    }
    let chunks = 0;
    for (;;) {
      if (opts.signal?.aborted) throw new Error('import interrupted');
      if (opts.maxChunks !== undefined && chunks >= opts.maxChunks) return { interrupted: true };
      const lines: { line: number; text: string }[] = [];
      let end = offset;
      let endLine = lineNo;
      for (const l of splitRecords(text, format, offset, lineNo)) {
        end = l.end;
        endLine = l.line;
        if (l.text.trim() === '') continue;
        lines.push(l);
        if (lines.length >= chunkSize) break;
      }
      if (lines.length === 0) break;
      const claimed = await this.importChunk(imp, lines, header, { from: committed, to: end, line: endLine });
      if (!claimed) return { superseded: true }; // another worker moved the offset: it owns the import now
      committed = end;
      offset = end;
      lineNo = endLine;
      chunks++;
    }
    const done = await this.finishImport(importId, 'succeeded', null);
    return done;
  }

  private parseLine(
    text: string,
    format: 'ndjson' | 'csv',
    header: string[] | undefined,
    idField: string,
    fields: SchemaField[],
  ): ParsedLine {
    const errors: ParsedLine['errors'] = [];
    if (format === 'ndjson') {
      let obj: unknown;
      try {
        obj = JSON.parse(text);
      } catch (err) {
        return { errors: [{ field: null, code: 'invalid_json', message: `Not valid JSON: ${(err as Error).message}` }] };
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
        return { errors: [{ field: null, code: 'invalid_type', message: 'Each line must hold a JSON object' }] };
      const { id, data } = splitId(obj as Record<string, unknown>, idField, errors);
      return { id, data, errors };
    }
    const cells = parseCsvRecord(text);
    const cols = header ?? [];
    if (cells.length !== cols.length)
      return { errors: [{ field: null, code: 'invalid_format', message: `Expected ${cols.length} columns, found ${cells.length}` }] };
    const byName = new Map(fields.map((f) => [f.name, f]));
    const obj: Record<string, unknown> = {};
    cols.forEach((col, i) => {
      if (col === idField) {
        if (cells[i] !== '') obj[col] = cells[i];
        return;
      }
      const { value, error } = typedCell(cells[i], byName.get(col));
      if (error) errors.push({ field: col, code: 'invalid_type', message: error });
      else if (value !== undefined) obj[col] = value;
    });
    const { id, data } = splitId(obj, idField, errors);
    return { id, data, errors };
  }

  private async importChunk(
    imp: Row,
    lines: { line: number; text: string }[],
    header: string[] | undefined,
    span: { from: number; to: number; line: number },
  ): Promise<boolean> {
    const datasetId = imp.dataset_id as string;
    return this.platform.transaction(async (tx) => {
      const { draft, row: ds } = await this.datasets.records.lockForRecordWrite(tx, imp.tenant_id, datasetId);
      // Claim the chunk: only the run that still sees the old offset may write it.
      const claimed = await tx
        .updateTable('dataset_imports')
        .set({ byte_offset: span.to, line_offset: span.line })
        .where('id', '=', imp.id)
        .where('byte_offset', '=', span.from)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) return false;
      const fields = fromJson<DatasetSchema>(ds.schema).fields;
      const errors: ImportError[] = [];
      const good: { line: number; id: string; data: Record<string, unknown>; clientId: boolean }[] = [];
      const seen = new Set<string>();
      for (const l of lines) {
        const parsed = this.parseLine(l.text, imp.format, header, imp.id_field, fields);
        if (parsed.data) for (const p of validateRecord(fields, parsed.data)) parsed.errors.push(p);
        if (parsed.id && seen.has(parsed.id))
          parsed.errors.push({ field: imp.id_field, code: 'duplicate', message: `id '${parsed.id}' repeats an earlier line` });
        if (parsed.errors.length || !parsed.data) {
          for (const e of parsed.errors) errors.push({ line: l.line, ...e });
          continue;
        }
        if (parsed.id) seen.add(parsed.id);
        good.push({ line: l.line, id: parsed.id ?? this.platform.ids.new('rec'), data: parsed.data, clientId: parsed.id !== undefined });
      }
      const taken = new Set(
        await this.datasets.records.existingIds(
          tx,
          datasetId,
          good.filter((g) => g.clientId).map((g) => g.id),
        ),
      );
      const kept: typeof good = [];
      for (const g of good) {
        if (taken.has(g.id)) {
          errors.push({ line: g.line, field: imp.id_field, code: 'duplicate', message: `record id '${g.id}' already exists` });
          continue;
        }
        kept.push(g);
      }
      const protection = this.datasets.protection;
      const stored = protection.applies(ds)
        ? await protection.seal(tx, ds, kept, { operation: 'import', importId: imp.id })
        : prepareRecords(kept);
      await this.datasets.records.bulkInsert(tx, imp.tenant_id, datasetId, draft, stored);
      const failedLines = new Set(errors.map((e) => e.line));
      const perLine = new Map<number, number>();
      for (const e of errors) {
        const seq = perLine.get(e.line) ?? 0;
        perLine.set(e.line, seq + 1);
        await tx
          .insertInto('dataset_import_errors')
          .values({ import_id: imp.id, line: e.line, seq, field: e.field, code: e.code, message: e.message.slice(0, 1000) })
          .execute();
      }
      await tx
        .updateTable('dataset_imports')
        .set({ processed: sql`processed + ${lines.length}`, failed: sql`failed + ${failedLines.size}` })
        .where('id', '=', imp.id)
        .execute();
      if (kept.length > 0) {
        await tx
          .updateTable('datasets')
          .set({ record_count: sql`record_count + ${kept.length}`, updated_at: this.platform.clock.now() })
          .where('id', '=', datasetId)
          .execute();
        await this.platform.events.emit(
          tx,
          'record.created',
          datasetId,
          { dataset_id: datasetId, ids: kept.map((r) => r.id), count: kept.length, import_id: imp.id },
          { tenantId: imp.tenant_id, source: `/datasets/${datasetId}` },
        );
      }
      return true;
    });
  }

  private async finishImport(importId: string, status: 'succeeded' | 'failed', error: string | null): Promise<DatasetImport> {
    await this.db
      .updateTable('dataset_imports')
      .set({ status, error, finished_at: this.platform.clock.now() })
      .where('id', '=', importId)
      .execute();
    return toImport(await this.db.selectFrom('dataset_imports').selectAll().where('id', '=', importId).executeTakeFirstOrThrow());
  }

  async getImport(principal: Principal, datasetId: string, importId: string): Promise<DatasetImport> {
    await this.datasets.authorize(principal, datasetId, 'datasets:read');
    const row = await this.db
      .selectFrom('dataset_imports')
      .selectAll()
      .where('tenant_id', '=', principal.tenantId)
      .where('dataset_id', '=', datasetId)
      .where('id', '=', importId)
      .executeTakeFirst();
    if (!row) throw notFound('Import');
    return toImport(row);
  }

  async importErrors(principal: Principal, datasetId: string, importId: string, page: { limit?: number; cursor?: string }) {
    await this.getImport(principal, datasetId, importId);
    const limit = page.limit ?? 100;
    const scope = `cursor:import-errors:${importId}`;
    let q = this.db.selectFrom('dataset_import_errors').selectAll().where('import_id', '=', importId);
    if (page.cursor) {
      const c = this.platform.signer.verify<{ line: number; seq: number }>(page.cursor, scope);
      if (!c || typeof c.line !== 'number') throw invalidCursor();
      q = q.where((eb) => eb(eb.refTuple('line', 'seq'), '>', eb.tuple(c.line, c.seq)));
    }
    const rows = await q
      .orderBy('line')
      .orderBy('seq')
      .limit(limit + 1)
      .execute();
    const hasMore = rows.length > limit;
    const items = (hasMore ? rows.slice(0, limit) : rows).map(
      (r): ImportError => ({ line: Number(r.line), field: r.field ?? null, code: r.code, message: r.message }),
    );
    const last = rows[items.length - 1];
    const cursor = hasMore ? this.platform.signer.sign({ line: Number(last.line), seq: Number(last.seq) }, scope) : undefined;
    return { items, pagination: { has_more: hasMore, page_size: items.length, ...(cursor ? { cursor } : {}) } };
  }

  // ---- export ---------------------------------------------------------------------------------

  async startExport(principal: Principal, datasetId: string, input: CreateExport): Promise<{ exportId: string; jobId: string }> {
    const ds = await this.datasets.authorize(principal, datasetId, 'datasets:read');
    const filter = input.filter === undefined ? undefined : parseFilter(input.filter); // 400 now rather than a failed job later
    const v = await this.datasets.resolveVersion(ds, input.version);
    this.datasets.protection.assertQueryable(v.encrypted, { filter });
    const exportId = this.platform.ids.new('exp');
    const format = input.format ?? 'ndjson';
    const now = this.platform.clock.now();
    const jobId = await this.platform.transaction(async (tx) => {
      const job = await this.platform.jobs.enqueue(tx, EXPORT_JOB, { export_id: exportId }, { tenantId: principal.tenantId });
      await tx
        .insertInto('dataset_exports')
        .values({
          id: exportId,
          tenant_id: principal.tenantId,
          dataset_id: datasetId,
          version_id: v.id,
          format,
          filter: input.filter === undefined ? null : toJson(input.filter),
          status: 'queued',
          record_count: 0,
          bytes: 0,
          job_id: job.id,
          created_by: principal.subject,
          created_at: now,
        })
        .execute();
      await this.datasets.lineage.addLineage(tx, {
        tenantId: principal.tenantId,
        datasetId,
        nodes: [{ id: exportId, type: 'export', label: `export (${format})`, attributes: { format, version_id: v.id } }],
        edges: [{ from: v.id ?? datasetId, to: exportId, relation: 'exported_to' }],
      });
      return job.id;
    });
    await this.datasets.auditRead(principal, ds, 'records.export', { export_id: exportId, version_id: v.id });
    return { exportId, jobId };
  }

  private exportKey(row: Row): string {
    return `${row.tenant_id}/dataset-exports/${row.id}.${row.format}`;
  }

  /** Streams the selected records into the blob store, then marks the export done. */
  async runExport(exportId: string): Promise<unknown> {
    const row = await this.db.selectFrom('dataset_exports').selectAll().where('id', '=', exportId).executeTakeFirst();
    if (!row || row.status === 'succeeded') return row ? { export_id: exportId } : null;
    await this.db.updateTable('dataset_exports').set({ status: 'running' }).where('id', '=', exportId).execute();
    const ds = await this.db.selectFrom('datasets').selectAll().where('id', '=', row.dataset_id).executeTakeFirst();
    if (!ds) return null;
    const ref = { row: ds, id: ds.id, tenantId: ds.tenant_id, classification: ds.classification };
    const v = await this.datasets.resolveVersion(ref, row.version_id ?? undefined);
    const filter: FilterNode | undefined = row.filter == null ? undefined : parseFilter(fromJson(row.filter));
    const format = row.format as ExportFormat;
    const schema = fromJson<DatasetSchema>(
      v.id
        ? (await this.db.selectFrom('dataset_versions').select('schema').where('id', '=', v.id).executeTakeFirstOrThrow()).schema
        : ds.schema,
    );
    let count = 0;
    const pages = this.datasets.records.scanRecords(ds.id, v, filter, 2000);
    async function* lines(): AsyncGenerator<string> {
      let columns: string[] | undefined;
      if (format === 'json') yield '[';
      for await (const page of pages) {
        const out: string[] = [];
        for (const r of page) {
          const data = fromJson<Record<string, unknown>>(r.data);
          // Flat objects with the record id first: the shape the import reads back.
          if (format === 'csv') {
            if (!columns) {
              const extra = new Set<string>();
              for (const p of page) for (const k of Object.keys(fromJson<Record<string, unknown>>(p.data))) extra.add(k);
              const declared = schema.fields.map((f) => f.name);
              columns = ['id', ...declared, ...[...extra].filter((k) => !declared.includes(k) && k !== 'id').sort()];
              out.push(`${columns.map(csvCell).join(',')}\n`);
            }
            const rec: Record<string, unknown> = { ...data, id: r.id };
            out.push(`${columns.map((c) => csvCell(rec[c])).join(',')}\n`);
          } else {
            const { id: _ignored, ...fields } = data;
            const text = JSON.stringify({ id: r.id, ...fields });
            out.push(format === 'json' ? `${count === 0 ? '\n' : ',\n'}${text}` : `${text}\n`);
          }
          count++;
        }
        yield out.join('');
      }
      if (format === 'csv' && !columns) yield `${['id', ...schema.fields.map((f) => f.name)].map(csvCell).join(',')}\n`;
      if (format === 'json') yield count === 0 ? ']\n' : '\n]\n';
    }
    const key = this.exportKey(row);
    const info = await this.platform.blob.put(key, Readable.from(lines()), CONTENT_TYPES[format]);
    await this.platform.transaction(async (tx) => {
      await tx
        .updateTable('dataset_exports')
        .set({ status: 'succeeded', record_count: count, bytes: info.size, file: key, finished_at: this.platform.clock.now() })
        .where('id', '=', exportId)
        .execute();
      await this.platform.events.emit(
        tx,
        'record.exported',
        ds.id,
        { dataset_id: ds.id, export_id: exportId, version_id: v.id, format, record_count: count, bytes: info.size },
        { tenantId: ds.tenant_id, source: `/datasets/${ds.id}` },
      );
    });
    return { export_id: exportId, record_count: count, bytes: info.size, download: `/api/v1/exports/${exportId}/download` };
  }

  private async exportRow(principal: Principal, exportId: string): Promise<Row> {
    const row = await this.db
      .selectFrom('dataset_exports')
      .selectAll()
      .where('tenant_id', '=', principal.tenantId)
      .where('id', '=', exportId)
      .executeTakeFirst();
    if (!row) throw notFound('Export');
    await this.datasets.authorize(principal, row.dataset_id, 'datasets:read');
    return row;
  }

  async getExport(principal: Principal, exportId: string): Promise<DatasetExport> {
    const row = await this.exportRow(principal, exportId);
    let url: string | null = null;
    if (row.status === 'succeeded' && row.file)
      url = await this.platform.blob.presignGet(row.file, { expiresInSec: this.platform.config.datasetExportUrlTtlSec });
    return {
      id: row.id,
      dataset_id: row.dataset_id,
      version_id: row.version_id ?? null,
      format: row.format,
      status: row.status,
      record_count: Number(row.record_count),
      bytes: Number(row.bytes),
      job_id: row.job_id,
      download_url: url,
      error: row.error ?? null,
      created_at: rfc3339(Number(row.created_at)),
      finished_at: rfc3339OrNull(row.finished_at == null ? null : Number(row.finished_at)),
    };
  }

  /** The export file, for the authenticated download route. */
  async downloadExport(principal: Principal, exportId: string): Promise<{ body: Buffer; contentType: string; filename: string }> {
    const row = await this.exportRow(principal, exportId);
    if (row.status !== 'succeeded' || !row.file) throw new AppError('conflict', 409, 'The export is not finished yet');
    const body = await this.platform.blob.read(row.file);
    if (!body) throw notFound('Export file');
    const ds = await this.datasets.authorize(principal, row.dataset_id, 'datasets:read');
    await this.datasets.auditRead(principal, ds, 'exports.download', { export_id: exportId });
    return { body, contentType: CONTENT_TYPES[row.format as ExportFormat], filename: `${row.dataset_id}-${row.id}.${row.format}` };
  }
}
