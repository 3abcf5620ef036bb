import { Readable } from 'node:stream';
import type { CreateExport, DatasetExport, DatasetImport, DatasetSchema, ExportFormat, ImportError, SchemaField } from '@loam/api';
import type { RequestContext } from '../../platform/context.js';
import { fromJson, toJson } from '../../platform/db/index.js';
import { AppError, notFound } from '../../platform/errors.js';
import type { Platform } from '../../platform/index.js';
import type { JobContext } from '../../platform/jobs/queue.js';
import { type FilterNode, parseFilter } from './filter.js';
import { prepareRecords, validateRecord } from './records.js';
import { ANALYZE_AFTER_RECORDS, type DatasetRef } from './services/core.js';
import { RecordQuota } from './services/quota.js';
import type { DatasetService } from './services/datasets.js';
import { type DatasetStore, toExport, toImport } from './store/index.js';
import type { ExportRow, ImportRow } from './tables.js';
import { type ParsedLine, csvCell, parseCsvRecord, splitId, splitRecords, typedCell } from './transfer-formats.js';

export const IMPORT_JOB = 'datasets.import';
export const EXPORT_JOB = 'datasets.export';
const CONTENT_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
};

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

  private get store(): DatasetStore {
    return this.datasets.store;
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
    ctx: RequestContext,
    datasetId: string,
    source: { body: Buffer; format: 'ndjson' | 'csv' } | { blobKey: string; format: 'ndjson' | 'csv' },
    idField = 'id',
  ): Promise<{ importId: string; jobId: string }> {
    const ds = await this.datasets.authorizeRecords(ctx, datasetId, 'datasets:write');
    if (ds.row.status === 'archived') throw new AppError('dataset_archived', 409, 'The dataset is archived: restore it before importing');
    const importId = this.platform.ids.new('imp');
    let key: string;
    let body: Buffer;
    if ('body' in source) {
      if (source.body.length === 0) throw new AppError('validation_error', 400, 'The uploaded file is empty');
      key = `${ctx.tenantId}/dataset-imports/${importId}.${source.format}`;
      await this.platform.blob.put(key, source.body, source.format === 'csv' ? 'text/csv' : 'application/x-ndjson');
      body = source.body;
    } else {
      if (!source.blobKey.startsWith(`${ctx.tenantId}/`)) throw notFound('Blob');
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
      const job = await this.platform.jobs.enqueue(tx, IMPORT_JOB, { import_id: importId }, { tenantId: ctx.tenantId });
      await this.store.transfers.insertImport(tx, {
        id: importId,
        tenant_id: ctx.tenantId,
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
        error: null,
        created_by: ctx.principal.subject,
        created_at: now,
        finished_at: null,
      });
      await this.datasets.lineage.addLineage(tx, {
        tenantId: ctx.tenantId,
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
    const imp = await this.store.transfers.importById(this.db, importId);
    if (!imp || imp.status === 'succeeded' || imp.status === 'failed') return imp ? toImport(imp) : null;
    const body = await this.platform.blob.read(imp.file);
    if (!body) {
      await this.finishImport(imp, 'failed', 'The uploaded file is gone');
      return null;
    }
    await this.store.transfers.setImport(this.db, imp, { status: 'running' });
    const text = body.toString('utf8');
    const format = imp.format;
    const chunkSize = this.platform.config.datasetImportChunkSize;
    let header: string[] | undefined;
    // `committed` is the offset the row holds (the claim checks it); a CSV header is skipped on top.
    let committed = imp.byte_offset;
    let offset = committed;
    let lineNo = imp.line_offset;
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
      let claimed: boolean;
      try {
        claimed = await this.importChunk(imp, lines, header, { from: committed, to: end, line: endLine });
      } catch (err) {
        // The tenant's records quota: retrying cannot help. The chunks before this one stay.
        if (!(err instanceof AppError && err.code === 'quota_exceeded')) throw err;
        return this.finishImport(imp, 'failed', `${err.message}; lines after ${lineNo} were not imported`);
      }
      if (!claimed) return { superseded: true }; // another worker moved the offset: it owns the import now
      committed = end;
      offset = end;
      lineNo = endLine;
      chunks++;
    }
    const done = await this.finishImport(imp, 'succeeded', null);
    // A large load: the planner's statistics are stale now.
    if (done.processed - done.failed >= ANALYZE_AFTER_RECORDS) await this.store.indexes.analyze(this.db);
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
    imp: ImportRow,
    lines: { line: number; text: string }[],
    header: string[] | undefined,
    span: { from: number; to: number; line: number },
  ): Promise<boolean> {
    const datasetId = imp.dataset_id;
    return this.platform.transaction(async (tx) => {
      const { draft, row: ds } = await this.datasets.records.lockForRecordWrite(tx, imp.tenant_id, datasetId);
      // Claim the chunk: only the run that still sees the old offset may write it.
      if (!(await this.store.transfers.claimChunk(tx, imp, span))) return false;
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
      const clientIds = good.filter((g) => g.clientId).map((g) => g.id);
      const taken = new Set(await this.store.records.existingIds(tx, imp.tenant_id, datasetId, clientIds));
      const kept: typeof good = [];
      for (const g of good) {
        if (taken.has(g.id)) {
          errors.push({ line: g.line, field: imp.id_field, code: 'duplicate', message: `record id '${g.id}' already exists` });
          continue;
        }
        kept.push(g);
      }
      if (kept.length > 0) await new RecordQuota(this.platform, imp.tenant_id).add(tx, kept.length);
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
        await this.store.transfers.insertError(tx, {
          import_id: imp.id,
          line: e.line,
          seq,
          field: e.field,
          code: e.code,
          message: e.message.slice(0, 1000),
        });
      }
      await this.store.transfers.addProgress(tx, imp, lines.length, failedLines.size);
      if (kept.length > 0) {
        await this.store.datasets.addRecords(tx, imp.tenant_id, datasetId, kept.length, this.platform.clock.now());
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

  private async finishImport(imp: ImportRow, status: 'succeeded' | 'failed', error: string | null): Promise<DatasetImport> {
    await this.store.transfers.setImport(this.db, imp, { status, error, finished_at: this.platform.clock.now() });
    const row = await this.store.transfers.importById(this.db, imp.id);
    if (!row) throw notFound('Import');
    return toImport(row);
  }

  async getImport(ctx: RequestContext, datasetId: string, importId: string): Promise<DatasetImport> {
    await this.datasets.authorizeRecords(ctx, datasetId, 'datasets:read');
    const row = await this.store.transfers.findImport(this.db, ctx.tenantId, datasetId, importId);
    if (!row) throw notFound('Import');
    return toImport(row);
  }

  async importErrors(ctx: RequestContext, datasetId: string, importId: string, page: { limit?: number; cursor?: string }) {
    await this.getImport(ctx, datasetId, importId);
    const { items, pagination } = await this.store.transfers.errors(this.db, importId, page, this.platform.signer);
    return { items: items.map((r): ImportError => ({ line: r.line, field: r.field, code: r.code, message: r.message })), pagination };
  }

  // ---- export ---------------------------------------------------------------------------------

  async startExport(ctx: RequestContext, datasetId: string, input: CreateExport): Promise<{ exportId: string; jobId: string }> {
    const ds = await this.datasets.authorizeRecords(ctx, datasetId, 'datasets:read');
    const filter = input.filter === undefined ? undefined : parseFilter(input.filter); // 400 now rather than a failed job later
    const v = await this.datasets.resolveVersion(ctx, ds, input.version);
    this.datasets.protection.assertQueryable(v.encrypted, { filter });
    const exportId = this.platform.ids.new('exp');
    const format = input.format ?? 'ndjson';
    const now = this.platform.clock.now();
    const jobId = await this.platform.transaction(async (tx) => {
      const job = await this.platform.jobs.enqueue(tx, EXPORT_JOB, { export_id: exportId }, { tenantId: ctx.tenantId });
      await this.store.transfers.insertExport(tx, {
        id: exportId,
        tenant_id: ctx.tenantId,
        dataset_id: datasetId,
        version_id: v.id,
        format,
        filter: input.filter === undefined ? null : toJson(input.filter),
        status: 'queued',
        record_count: 0,
        bytes: 0,
        file: null,
        job_id: job.id,
        error: null,
        created_by: ctx.principal.subject,
        created_at: now,
        finished_at: null,
      });
      await this.datasets.lineage.addLineage(tx, {
        tenantId: ctx.tenantId,
        datasetId,
        nodes: [{ id: exportId, type: 'export', label: `export (${format})`, attributes: { format, version_id: v.id } }],
        edges: [{ from: v.id ?? datasetId, to: exportId, relation: 'exported_to' }],
      });
      return job.id;
    });
    await this.datasets.auditRead(ctx, ds, 'records.export', { export_id: exportId, version_id: v.id });
    return { exportId, jobId };
  }

  private exportKey(row: ExportRow): string {
    return `${row.tenant_id}/dataset-exports/${row.id}.${row.format}`;
  }

  /** Streams the selected records into the blob store, then marks the export done. */
  async runExport(exportId: string): Promise<unknown> {
    const row = await this.store.transfers.exportById(this.db, exportId);
    if (!row || row.status === 'succeeded') return row ? { export_id: exportId } : null;
    await this.store.transfers.setExport(this.db, row, { status: 'running' });
    const ds = await this.store.datasets.find(this.db, row.tenant_id, row.dataset_id);
    if (!ds) return null;
    const ref: DatasetRef = { row: ds, id: ds.id, tenantId: ds.tenant_id, classification: ds.classification };
    const v = await this.datasets.versionOf(ref, row.version_id ?? undefined);
    const filter: FilterNode | undefined = row.filter == null ? undefined : parseFilter(fromJson(row.filter));
    const format = row.format;
    const version = v.id ? await this.store.versions.find(this.db, ds.tenant_id, ds.id, v.id) : undefined;
    const schema = fromJson<DatasetSchema>(version?.schema ?? ds.schema);
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
      const finishedAt = this.platform.clock.now();
      await this.store.transfers.setExport(tx, row, {
        status: 'succeeded',
        record_count: count,
        bytes: info.size,
        file: key,
        finished_at: finishedAt,
      });
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

  /** The caller's export, after the access check on the records of its dataset. */
  private async exportRow(ctx: RequestContext, exportId: string): Promise<{ row: ExportRow; ds: DatasetRef }> {
    const row = await this.store.transfers.findExport(this.db, ctx.tenantId, exportId);
    if (!row) throw notFound('Export');
    const ds = await this.datasets.authorizeRecords(ctx, row.dataset_id, 'datasets:read');
    return { row, ds };
  }

  async getExport(ctx: RequestContext, exportId: string): Promise<DatasetExport> {
    const { row } = await this.exportRow(ctx, exportId);
    let url: string | null = null;
    if (row.status === 'succeeded' && row.file)
      url = await this.platform.blob.presignGet(row.file, { expiresInSec: this.platform.config.datasetExportUrlTtlSec });
    return toExport(row, url);
  }

  /** The export file, for the authenticated download route. */
  async downloadExport(ctx: RequestContext, exportId: string): Promise<{ body: Buffer; contentType: string; filename: string }> {
    const { row, ds } = await this.exportRow(ctx, exportId);
    if (row.status !== 'succeeded' || !row.file) throw new AppError('conflict', 409, 'The export is not finished yet');
    const body = await this.platform.blob.read(row.file);
    if (!body) throw notFound('Export file');
    await this.datasets.auditRead(ctx, ds, 'exports.download', { export_id: exportId });
    return { body, contentType: CONTENT_TYPES[row.format], filename: `${row.dataset_id}-${row.id}.${row.format}` };
  }
}
