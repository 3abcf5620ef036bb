import type { DatasetSchema, DatasetStats, SchemaField } from '@loam/api';
import { sql } from 'kysely';
import type { RequestContext } from '../../../platform/context.js';
import { fromJson } from '../../../platform/db/index.js';
import { notFound } from '../../../platform/errors.js';
import { FieldStatsAccumulator } from '../protection.js';
import type { RowScope } from '../store/index.js';
import { type DatasetCore, SCAN_PAGE, scopeOf } from './core.js';
import type { RecordService } from './records.js';

/** Per-field statistics of the draft or a version. */
export class StatsService {
  constructor(
    private readonly core: DatasetCore,
    private readonly records: RecordService,
  ) {}

  async get(ctx: RequestContext, id: string, version?: string): Promise<DatasetStats> {
    const ds = await this.core.authorizeRecords(ctx, id, 'datasets:read');
    const v = await this.core.resolveVersion(ctx, ds, version);
    let schemaText = ds.row.schema;
    if (v.id) {
      const row = await this.core.store.versions.find(this.core.db, ctx.tenantId, id, v.id);
      if (!row) throw notFound('Version');
      schemaText = row.schema;
    }
    const schema = fromJson<DatasetSchema>(schemaText);
    const scope = scopeOf(v);
    const totals = await this.core.store.records.totals(this.core.db, scope);
    const out: DatasetStats = { dataset_id: id, version_id: v.id, record_count: totals.n, bytes: totals.bytes, fields: [] };
    // Encrypted fields: SQL sees ciphertexts, so their statistics come from one scan of decrypted values.
    const sealed = new Map(schema.fields.filter((f) => v.encrypted.includes(f.name)).map((f) => [f.name, new FieldStatsAccumulator(f)]));
    if (sealed.size > 0)
      for await (const page of this.records.scanRecords(id, v, undefined, SCAN_PAGE))
        for (const r of page) for (const acc of sealed.values()) acc.add(fromJson(r.data));
    for (const f of schema.fields) out.fields.push(sealed.get(f.name)?.result() ?? (await this.fieldStats(scope, f)));
    await this.core.auditRead(ctx, ds, 'datasets.stats', { version_id: v.id });
    return out;
  }

  /** A field's statistics, computed in SQL. */
  private async fieldStats(scope: RowScope, f: SchemaField): Promise<DatasetStats['fields'][number]> {
    const json = this.core.json;
    const path = [f.name];
    const x = json.value(path);
    const isNull = json.compile({ kind: 'cmp', path, op: '$eq', value: null });
    const numeric = f.type === 'integer' || f.type === 'number';
    const ordered = numeric || f.type === 'datetime';
    // "is a number" / "is a string", in the filter compiler's typed semantics
    const typed = json.compile({ kind: 'cmp', path, op: '$gte', value: numeric ? -Number.MAX_VALUE : '' });
    const scalar = !ordered ? sql`NULL` : json.orderedScalar(path, numeric);
    const a = await this.core.store.records.aggregates(this.core.db, scope, { x, isNull, typed, scalar });
    const top = f.type === 'object' || f.type === 'array' ? [] : await this.core.store.records.topValues(this.core.db, scope, x, isNull);
    const decode = (raw: unknown): unknown => json.decode(raw, f.type === 'boolean');
    const bound = (raw: unknown) => (raw == null ? null : numeric ? Number(raw) : String(raw));
    return {
      name: f.name,
      type: f.type,
      null_count: Number(a.nulls ?? 0),
      distinct_estimate: Number(a.distinct_n ?? 0),
      ...(ordered ? { min: bound(a.min_v), max: bound(a.max_v) } : {}),
      top_values: top.map((t) => ({ value: decode(t.value), count: Number(t.n) })),
    };
  }
}
