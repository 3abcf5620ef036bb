import type { DatasetSchema, DatasetStats } from '@loam/api';
import { sql } from 'kysely';
import { fromJson } from '../../../platform/db/index.js';
import type { Principal } from '../../../platform/principal.js';
import { FieldStatsAccumulator } from '../protection.js';
import { type DatasetCore, SCAN_PAGE } from './core.js';
import type { RecordService } from './records.js';

/** Per-field statistics of the draft or a version. */
export class StatsService {
  constructor(
    private readonly core: DatasetCore,
    private readonly records: RecordService,
  ) {}

  async get(principal: Principal, id: string, version?: string): Promise<DatasetStats> {
    const ds = await this.core.authorize(principal, id, 'datasets:read');
    const v = await this.core.resolveVersion(ds, version);
    const schema = v.id
      ? fromJson<DatasetSchema>(
          (await this.core.db.selectFrom('dataset_versions').select('schema').where('id', '=', v.id).executeTakeFirstOrThrow()).schema,
        )
      : fromJson<DatasetSchema>(ds.row.schema);
    const scoped = () => this.core.db.selectFrom('dataset_records').where('dataset_id', '=', id).where(this.core.visibleAt(v));
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
      for await (const page of this.records.scanRecords(id, v, undefined, SCAN_PAGE))
        for (const r of page) for (const acc of sealed.values()) acc.add(fromJson(r.data));
    for (const f of schema.fields) {
      const acc = sealed.get(f.name);
      if (acc) {
        out.fields.push(acc.result());
        continue;
      }
      const path = [f.name];
      const x = this.core.json.value(path);
      const nullCond = this.core.json.compile({ kind: 'cmp', path, op: '$eq', value: null });
      const numeric = f.type === 'integer' || f.type === 'number';
      const ordered = numeric || f.type === 'datetime';
      // "is a number" / "is a string", in the filter compiler's typed semantics
      const typed = this.core.json.compile({ kind: 'cmp', path, op: '$gte', value: numeric ? -Number.MAX_VALUE : '' });
      const scalar = !ordered ? sql`NULL` : this.core.json.orderedScalar(path, numeric);
      const agg = await sql<{ nulls: number; distinct_n: number; min_v: unknown; max_v: unknown }>`
        SELECT SUM(CASE WHEN ${nullCond} THEN 1 ELSE 0 END) AS nulls, COUNT(DISTINCT ${x}) AS distinct_n,
               MIN(CASE WHEN ${typed} THEN ${scalar} END) AS min_v, MAX(CASE WHEN ${typed} THEN ${scalar} END) AS max_v
        FROM dataset_records WHERE dataset_id = ${id} AND ${this.core.visibleAt(v)}`.execute(this.core.db);
      const a = agg.rows[0];
      const top =
        f.type === 'object' || f.type === 'array'
          ? []
          : await sql<{ value: unknown; n: number }>`
              SELECT ${x} AS value, COUNT(*) AS n FROM dataset_records
              WHERE dataset_id = ${id} AND ${this.core.visibleAt(v)} AND NOT ${nullCond}
              GROUP BY ${x} ORDER BY COUNT(*) DESC, ${x} LIMIT 5`
              .execute(this.core.db)
              .then((r) => r.rows);
      const decode = (raw: unknown): unknown => this.core.json.decode(raw, f.type === 'boolean');
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
    await this.core.auditRead(principal, ds, 'datasets.stats', { version_id: v.id });
    return out;
  }
}
