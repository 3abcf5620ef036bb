import { type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { SqlDialect } from '../../platform/db/dialect/index.js';
import type { Database } from '../../platform/db/schema.js';
import type { Tx } from '../../platform/db/index.js';
import type { Signer } from '../../platform/crypto/index.js';
import { type PageRequest, pageByKey } from '../../platform/http/pagination.js';
import type { Pagination } from '@loam/api';

/** A record about to be stored. */
/** Who shipped a record: `POST /api/v1/logs`, OTLP, or Loam itself (LLM calls). */
export type RecordSource = 'api' | 'otlp' | 'loam';

export interface NewRecord {
  time: number;
  severity: number;
  message: string;
  /** JSON text of an object. */
  attributes: string;
  executionId: string | null;
  sessionId: string | null;
  workflowId: string | null;
  traceId: string | null;
  spanId: string | null;
  kind: 'log' | 'span';
}

export interface StoredRecord extends NewRecord {
  seq: number;
  source: RecordSource;
}

export interface LogFilter {
  executionId?: string;
  sessionId?: string;
  workflowId?: string;
  traceId?: string;
  minSeverity?: number;
  kind?: 'log' | 'span';
  words?: string[];
  attributes?: [string, string][];
  from?: number;
  to?: number;
}

export interface ExecutionRow {
  executionId: string;
  sessionId: string | null;
  workflowId: string | null;
  firstTime: number;
  lastTime: number;
  counts: [number, number, number, number, number, number];
}

export interface SettingsRow {
  retentionDays: number | null;
  quotaPerMinute: number | null;
}

const LEVEL_COLUMNS = ['n_trace', 'n_debug', 'n_info', 'n_warn', 'n_error', 'n_fatal'] as const;
/** Index into LEVEL_COLUMNS of a severity number (OpenTelemetry ranges of four). */
export const levelIndex = (severity: number): number => Math.min(5, Math.max(0, Math.floor((severity - 1) / 4)));

const RECORD_COLUMNS = [
  'seq',
  'time',
  'severity',
  'message',
  'attributes',
  'execution_id',
  'session_id',
  'workflow_id',
  'trace_id',
  'span_id',
  'source',
  'kind',
] as const;

/** The only SQL on the observatory's tables. */
export class LogStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {}

  /** Stores `records` as one batch and folds them into their executions' rows. */
  async insert(tx: Tx, tenantId: string, source: RecordSource, batch: string, records: NewRecord[]): Promise<void> {
    await this.dialect.bulkInsert(tx, {
      table: 'log_records',
      constants: { tenant_id: tenantId, source, batch },
      columns: {
        time: 'bigint',
        severity: 'integer',
        message: 'text',
        attributes: 'json',
        execution_id: 'text',
        session_id: 'text',
        workflow_id: 'text',
        trace_id: 'text',
        span_id: 'text',
        kind: 'text',
      },
      rows: records,
      values: (r) =>
        [r.time, r.severity, r.message, r.attributes, r.executionId, r.sessionId, r.workflowId, r.traceId, r.spanId, r.kind] as never,
    });
    for (const e of summarize(records)) {
      await tx
        .insertInto('log_executions')
        .values({
          tenant_id: tenantId,
          execution_id: e.executionId,
          session_id: e.sessionId,
          workflow_id: e.workflowId,
          first_time: e.firstTime,
          last_time: e.lastTime,
          n_trace: e.counts[0],
          n_debug: e.counts[1],
          n_info: e.counts[2],
          n_warn: e.counts[3],
          n_error: e.counts[4],
          n_fatal: e.counts[5],
        })
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'execution_id']).doUpdateSet((eb) => ({
            session_id: sql`coalesce(log_executions.session_id, excluded.session_id)`,
            workflow_id: sql`coalesce(log_executions.workflow_id, excluded.workflow_id)`,
            first_time: sql`case when excluded.first_time < log_executions.first_time then excluded.first_time else log_executions.first_time end`,
            last_time: sql`case when excluded.last_time > log_executions.last_time then excluded.last_time else log_executions.last_time end`,
            ...Object.fromEntries(LEVEL_COLUMNS.map((c) => [c, eb(`log_executions.${c}`, '+', eb.ref(`excluded.${c}`))])),
          })),
        )
        .execute();
    }
  }

  /** One keyset page of the records matching `filter`, in (time, seq) order. */
  async query(
    tenantId: string,
    filter: LogFilter,
    order: 'asc' | 'desc',
    page: PageRequest,
    signer: Signer,
  ): Promise<{ items: StoredRecord[]; pagination: Pagination }> {
    const q = this.db
      .selectFrom('log_records')
      .select(RECORD_COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where((eb) => eb.and(this.conditions(filter)));
    const desc = order === 'desc';
    const { items, pagination } = await pageByKey(q, page, {
      signer,
      scope: `logs:${tenantId}:${order}`,
      columns: [
        { column: 'time', value: (r) => Number(r.time), desc },
        { column: 'seq', value: (r) => Number(r.seq), desc },
      ],
    });
    return { items: items.map(toRecord), pagination };
  }

  /** The records of one ingest call (another process stored them; its notification named the batch). */
  async batch(tenantId: string, batch: string, from: number, to: number): Promise<StoredRecord[]> {
    const rows = await this.db
      .selectFrom('log_records')
      .select(RECORD_COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('time', '>=', from)
      .where('time', '<=', to)
      .where('batch', '=', batch)
      .orderBy('seq')
      .execute();
    return rows.map(toRecord);
  }

  /** One keyset page of the executions, most recently active first. */
  async executions(
    tenantId: string,
    filter: { sessionId?: string; workflowId?: string; failed?: boolean },
    page: PageRequest,
    signer: Signer,
  ): Promise<{ items: ExecutionRow[]; pagination: Pagination }> {
    let q = this.db.selectFrom('log_executions').selectAll().where('tenant_id', '=', tenantId);
    if (filter.sessionId) q = q.where('session_id', '=', filter.sessionId);
    if (filter.workflowId) q = q.where('workflow_id', '=', filter.workflowId);
    if (filter.failed !== undefined)
      q = q.where((eb) => {
        const bad = eb(eb('n_error', '+', eb.ref('n_fatal')), '>', 0);
        return filter.failed ? bad : eb.not(bad);
      });
    const { items: rows, pagination } = await pageByKey(q, page, {
      signer,
      scope: `executions:${tenantId}`,
      columns: [
        { column: 'last_time', value: (r) => Number(r.last_time), desc: true },
        { column: 'execution_id', value: (r) => r.execution_id },
      ],
    });
    const items = rows.map(
      (r): ExecutionRow => ({
        executionId: r.execution_id,
        sessionId: r.session_id,
        workflowId: r.workflow_id,
        firstTime: Number(r.first_time),
        lastTime: Number(r.last_time),
        counts: LEVEL_COLUMNS.map((c) => Number(r[c])) as ExecutionRow['counts'],
      }),
    );
    return { items, pagination };
  }

  async settings(tenantId: string): Promise<SettingsRow | undefined> {
    const row = await this.db.selectFrom('log_settings').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
    return (
      row && { retentionDays: row.retention_days, quotaPerMinute: row.quota_per_minute === null ? null : Number(row.quota_per_minute) }
    );
  }

  async putSettings(tenantId: string, s: SettingsRow): Promise<void> {
    await this.db
      .insertInto('log_settings')
      .values({ tenant_id: tenantId, retention_days: s.retentionDays, quota_per_minute: s.quotaPerMinute })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ retention_days: s.retentionDays, quota_per_minute: s.quotaPerMinute }))
      .execute();
  }

  /**
   * Takes `n` records from the tenant's quota bucket (`capacity` records, refilled at
   * `perMs` a millisecond) in one statement, atomic across processes; the tokens left, or
   * undefined (nothing taken) when fewer than `n` are available. `n` ≤ `capacity`.
   */
  async takeQuota(tenantId: string, n: number, capacity: number, perMs: number, now: number): Promise<number | undefined> {
    const row = await this.db
      .insertInto('log_quota')
      .values({ tenant_id: tenantId, tokens: capacity - n, at: now })
      .onConflict((oc) =>
        oc
          .column('tenant_id')
          .doUpdateSet({
            tokens: sql`${refilled(capacity, perMs, now)} - ${n}`,
            // A process whose clock is behind never moves the bucket back in time (nor refills it twice).
            at: sql`case when log_quota.at > ${now} then log_quota.at else ${now} end`,
          })
          .where(sql<SqlBool>`${refilled(capacity, perMs, now)} >= ${n}`),
      )
      .returning('tokens')
      .executeTakeFirst();
    return row && Number(row.tokens);
  }

  /** The tokens in the tenant's quota bucket now (capacity when it has none). */
  async quotaTokens(tenantId: string, capacity: number, perMs: number, now: number): Promise<number> {
    const row = await this.db
      .selectFrom('log_quota')
      .select(refilled(capacity, perMs, now).as('tokens'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    return row ? Number(row.tokens) : capacity;
  }

  /** Tenants with a retention of their own. */
  async retentionOverrides(): Promise<{ tenantId: string; days: number }[]> {
    const rows = await this.db
      .selectFrom('log_settings')
      .select(['tenant_id', 'retention_days'])
      .where('retention_days', 'is not', null)
      .execute();
    return rows.map((r) => ({ tenantId: r.tenant_id, days: Number(r.retention_days) }));
  }

  /**
   * Deletes records older than `cutoff` (of `tenantId`, or of every tenant but `except`), at most
   * `limit` at a time; returns how many went. Executions whose last record is older go too.
   */
  async purge(scope: { tenantId: string } | { except: string[] }, cutoff: number, limit: number): Promise<number> {
    const tenant = (): RawBuilder<SqlBool> =>
      'tenantId' in scope
        ? sql<SqlBool>`tenant_id = ${scope.tenantId}`
        : scope.except.length
          ? sql<SqlBool>`tenant_id not in (${sql.join(scope.except)})`
          : sql<SqlBool>`1 = 1`;
    const result = await this.db
      .deleteFrom('log_records')
      .where('seq', 'in', (eb) => eb.selectFrom('log_records').select('seq').where(tenant()).where('time', '<', cutoff).limit(limit))
      .executeTakeFirst();
    await this.db.deleteFrom('log_executions').where(tenant()).where('last_time', '<', cutoff).execute();
    return Number(result.numDeletedRows);
  }

  private conditions(f: LogFilter) {
    const out: RawBuilder<SqlBool>[] = [];
    const eq = (col: string, v: string | undefined) => {
      if (v !== undefined) out.push(sql<SqlBool>`${sql.ref(col)} = ${v}`);
    };
    eq('execution_id', f.executionId);
    eq('session_id', f.sessionId);
    eq('workflow_id', f.workflowId);
    eq('trace_id', f.traceId);
    eq('kind', f.kind);
    if (f.minSeverity !== undefined) out.push(sql<SqlBool>`severity >= ${f.minSeverity}`);
    if (f.from !== undefined) out.push(sql<SqlBool>`time >= ${f.from}`);
    if (f.to !== undefined) out.push(sql<SqlBool>`time < ${f.to}`);
    if (f.words?.length) out.push(this.dialect.containsWords('message', f.words));
    for (const [key, value] of f.attributes ?? [])
      out.push(sql<SqlBool>`cast(${this.dialect.jsonText(sql.ref('attributes'), [key])} as text) = ${value}`);
    return out;
  }
}

function toRecord(r: {
  seq: number;
  time: number;
  severity: number;
  message: string;
  attributes: string;
  execution_id: string | null;
  session_id: string | null;
  workflow_id: string | null;
  trace_id: string | null;
  span_id: string | null;
  source: string;
  kind: string;
}): StoredRecord {
  return {
    seq: Number(r.seq),
    time: Number(r.time),
    severity: r.severity,
    message: r.message,
    attributes: typeof r.attributes === 'string' ? r.attributes : JSON.stringify(r.attributes),
    executionId: r.execution_id,
    sessionId: r.session_id,
    workflowId: r.workflow_id,
    traceId: r.trace_id,
    spanId: r.span_id,
    source: r.source as StoredRecord['source'],
    kind: r.kind as StoredRecord['kind'],
  };
}

/** The records of each execution in a batch, summed. */
function summarize(records: NewRecord[]): ExecutionRow[] {
  const byId = new Map<string, ExecutionRow>();
  for (const r of records) {
    if (r.executionId === null) continue;
    let e = byId.get(r.executionId);
    if (!e) {
      e = {
        executionId: r.executionId,
        sessionId: r.sessionId,
        workflowId: r.workflowId,
        firstTime: r.time,
        lastTime: r.time,
        counts: [0, 0, 0, 0, 0, 0],
      };
      byId.set(r.executionId, e);
    }
    e.sessionId ??= r.sessionId;
    e.workflowId ??= r.workflowId;
    if (r.time < e.firstTime) e.firstTime = r.time;
    if (r.time > e.lastTime) e.lastTime = r.time;
    e.counts[levelIndex(r.severity)]++;
  }
  return [...byId.values()];
}

/** The bucket's tokens at `now`: what it held, refilled since `at`, at most `capacity`. */
function refilled(capacity: number, perMs: number, now: number): RawBuilder<number> {
  const cap = sql`cast(${capacity} as double precision)`;
  const grown = sql`log_quota.tokens + (case when ${now} > log_quota.at then ${now} - log_quota.at else 0 end) * cast(${perMs} as double precision)`;
  return sql<number>`case when ${grown} > ${cap} then ${cap} else ${grown} end`;
}
