import { createRequire } from 'node:module';
import {
  type CreateTableBuilder,
  type Expression,
  Kysely,
  type LogEvent,
  PostgresDialect,
  type RawBuilder,
  type SqlBool,
  sql,
} from 'kysely';
import type pg from 'pg';
import {
  type Bool,
  type BulkInsert,
  type FullTextHit,
  type FullTextOptions,
  type FullTextSpec,
  type VectorHit,
  identifier,
  type JsonExpressions,
  joinOr,
  type OpenedDatabase,
  type OutboxPosition,
  type Scalar,
  type SqlDialect,
  type OutboxSelect,
  type Select,
  type DueJobs,
  type ExecutorOf,
  type JobsExecutor,
} from './index.js';
import type { Database } from '../schema.js';

/** Opens a connection pool to the PostgreSQL database at `url` (postgres://…). */
export function openPostgres(url: string, poolMax: number, log?: (event: LogEvent) => void): OpenedDatabase {
  // Loaded only for PostgreSQL, so the embedded default starts without the driver.
  const pgDriver = createRequire(import.meta.url)('pg') as typeof pg;
  // int8 (OID 20) as number: ids are strings and timestamps are epoch milliseconds, far below 2^53.
  // json (114) and jsonb (3802) as text, as SQLite returns them, so `fromJson` reads both the
  // same way (a parsed JSON string such as "done" could not be told apart from JSON text).
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === 20
        ? (v: string) => Number(v)
        : oid === 114 || oid === 3802
          ? (v: string) => v
          : pgDriver.types.getTypeParser(oid, format as 'text'),
  };
  const pool = new pgDriver.Pool({ connectionString: url, max: poolMax, types });
  pool.on('error', () => {}); // idle client errors surface on the next query instead of crashing
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log });
  return {
    db,
    dialect: new PostgresSqlDialect(url, pgDriver, types),
    version: async () => (await sql<{ v: string }>`select current_setting('server_version') as v`.execute(db)).rows[0].v,
    close: () => db.destroy(),
  };
}

/** PostgreSQL's tsvector has a size ceiling; very long texts are indexed by their beginning. */
const INDEX_CHARS = 500_000;

/** The text search configuration of a full-text index: `english` stems words, `simple` only folds case. */
const textSearchConfig = (spec: FullTextSpec) => sql`${spec.stemmed ? 'english' : 'simple'}::regconfig`;

// Session-level advisory lock held while migrating (any constant works).
const MIGRATION_LOCK_KEY = 7_305_110_221;
/** The first key of every process's presence lock (the second is the hash of its id): 'Loam'. */
const PRESENCE_LOCK_CLASS = 0x4c6f616d;

/**
 * PostgreSQL: `data #> '{a,b}'` is the jsonb value (SQL NULL when missing); jsonb equality and
 * numeric ordering are typed already, strings are compared byte-wise with `COLLATE "C"`.
 */
function postgresJson(column: string): JsonExpressions {
  const col = sql.ref(column);
  const pp = (path: string[]) => sql.lit(`{${path.join(',')}}`);
  const j = (path: string[]) => sql`(${col} #> ${pp(path)})`;
  const txt = (path: string[]) => sql`(${col} #>> ${pp(path)})`;
  const typ = (path: string[]) => sql`jsonb_typeof(${j(path)})`;
  const jsonb = (v: unknown) => sql`${JSON.stringify(v)}::jsonb`;
  const present = (path: string[]) => sql<SqlBool>`${j(path)} IS NOT NULL`;
  const isNull = (path: string[]) => sql<SqlBool>`(${j(path)} IS NULL OR ${typ(path)} = 'null')`;

  const anyOf = (path: string[], values: Scalar[]): Bool => {
    const nonNull = values.filter((v) => v !== null);
    const parts: Bool[] = [];
    if (nonNull.length === 1) parts.push(sql<SqlBool>`(${present(path)} AND ${j(path)} = ${jsonb(nonNull[0])})`);
    else if (nonNull.length > 1) parts.push(sql<SqlBool>`(${present(path)} AND ${j(path)} IN (${sql.join(nonNull.map((v) => jsonb(v)))}))`);
    if (values.includes(null)) parts.push(isNull(path));
    return joinOr(parts);
  };

  return {
    value: j,
    sortKey: (path) => sql`NULLIF(${j(path)}, 'null'::jsonb)`,
    param: (v) => sql`${typeof v === 'string' ? v : JSON.stringify(v)}::jsonb`,
    orderedScalar: (path, numeric) => (numeric ? sql`${txt(path)}::numeric` : sql`${txt(path)} COLLATE "C"`),
    // jsonb comes back as JSON text.
    decode: (raw) => (raw == null ? null : typeof raw === 'string' ? JSON.parse(raw) : raw),
    anyOf,
    range: (path, o, value) =>
      typeof value === 'number'
        ? sql<SqlBool>`(${present(path)} AND ${typ(path)} = 'number' AND ${j(path)} ${o} ${jsonb(value)})`
        : sql<SqlBool>`(${present(path)} AND ${typ(path)} = 'string' AND ${txt(path)} COLLATE "C" ${o} ${value})`,
    contains(path, v) {
      const inArray = sql<SqlBool>`(${typ(path)} = 'array' AND ${j(path)} @> ${jsonb([v])})`;
      const body =
        typeof v === 'string' ? sql<SqlBool>`((${typ(path)} = 'string' AND strpos(${txt(path)}, ${v}) > 0) OR ${inArray})` : inArray;
      return sql<SqlBool>`(${present(path)} AND ${body})`;
    },
    startsWith: (path, s) => sql<SqlBool>`(${present(path)} AND ${typ(path)} = 'string' AND starts_with(${txt(path)}, ${s}))`,
    exists: (path, exists) => (exists ? sql<SqlBool>`(${j(path)} IS NOT NULL)` : sql<SqlBool>`(${j(path)} IS NULL)`),
  };
}

export class PostgresSqlDialect implements SqlDialect {
  constructor(
    private readonly url: string,
    private readonly pgDriver: typeof pg,
    private readonly types: pg.CustomTypesConfig,
  ) {}

  readonly name = 'postgres';
  readonly jsonType = 'jsonb';
  readonly rowLocks = true;

  serialPrimaryKey<TB extends string, C extends string, CN extends string>(
    table: CreateTableBuilder<TB, C>,
    column: CN,
  ): CreateTableBuilder<TB, C | CN> {
    return table.addColumn(column, 'bigserial', (c) => c.primaryKey());
  }

  /**
   * The writing transaction's id, so the relay only reads below the oldest open transaction and
   * never skips an event whose sequence number was taken before a commit.
   */
  transactionIdDefault(): RawBuilder<unknown> {
    return sql`(pg_current_xact_id()::text::bigint)`;
  }

  async createAppendOnlyTriggers<DB>(db: ExecutorOf<DB>, table: string): Promise<void> {
    const t = identifier(table);
    await sql`create or replace function ${sql.raw(`loam_${t}_append_only`)}() returns trigger language plpgsql as $$
          begin raise exception ${sql.raw(`'${t} is append-only'`)}; end $$`.execute(db);
    await sql`create trigger ${sql.raw(`${t}_append_only`)} before update or delete on ${sql.raw(t)}
          for each row execute function ${sql.raw(`loam_${t}_append_only`)}()`.execute(db);
  }

  /**
   * Autovacuum analyzes on its own, but only after a share of the table has changed and a nap:
   * until then a new expression index has no statistics and the planner ignores it.
   */
  async analyzeAfterIndex<DB>(db: ExecutorOf<DB>, table: string): Promise<void> {
    await sql`ANALYZE ${sql.raw(identifier(table))}`.execute(db);
  }

  json(column: string): JsonExpressions {
    return postgresJson(column);
  }

  jsonText(column: Expression<unknown>, path: string[]): RawBuilder<string | null> {
    return sql<string | null>`(${column} #>> ${sql.val(path)}::text[])`;
  }

  jsonArrayContains(column: string, value: string): Bool {
    return sql<SqlBool>`${sql.ref(column)} @> ${JSON.stringify([value])}::jsonb`;
  }

  async createFullText<DB>(db: ExecutorOf<DB>, spec: FullTextSpec): Promise<void> {
    const t = identifier(spec.table);
    await sql`alter table ${sql.raw(t)} add column search tsvector`.execute(db);
    await sql`create index ${sql.raw(`${t}_search`)} on ${sql.raw(t)} using gin (search)`.execute(db);
    await db.schema.createIndex(`${t}_tenant`).on(t).column('tenant_id').execute();
  }

  async purgeSearchIndexes(): Promise<void> {
    // A tsvector column goes with its row; VACUUM reclaims the dead tuple like any other.
  }

  async putFullText<DB>(db: ExecutorOf<DB>, spec: FullTextSpec, tenantId: string, key: string, text: string): Promise<void> {
    await sql`update ${sql.table(spec.table)} set search = to_tsvector(${textSearchConfig(spec)}, ${text.slice(0, INDEX_CHARS)})
        where ${sql.ref(spec.key)} = ${key} and tenant_id = ${tenantId}`.execute(db);
  }

  async removeFullText(): Promise<void> {}

  /** pgvector is not used: callers rank vectors exactly (see docs/knowledge.md for the cost). */
  readonly vectorIndex = undefined;
  async putVector(): Promise<void> {}
  async removeVector(): Promise<void> {}
  async searchVectors(): Promise<VectorHit[]> {
    throw new Error('searchVectors: no vector index on PostgreSQL without pgvector');
  }

  async dropFullText<DB>(db: ExecutorOf<DB>, spec: FullTextSpec): Promise<void> {
    const t = identifier(spec.table);
    await sql`drop index if exists ${sql.raw(`${t}_search`)}`.execute(db);
    await sql`drop index if exists ${sql.raw(`${t}_tenant`)}`.execute(db);
    await sql`alter table ${sql.raw(t)} drop column if exists search`.execute(db);
  }

  async countFullTextMatches<DB>(db: ExecutorOf<DB>, spec: FullTextSpec, word: string, cap: number): Promise<number> {
    const { rows } = await sql<{ n: string }>`select count(*) as n from (select 1 from ${sql.table(spec.table)}
        where search @@ plainto_tsquery(${textSearchConfig(spec)}, ${word}) limit ${cap}) m`.execute(db);
    return Number(rows[0]?.n ?? 0);
  }

  containsWords(column: string, words: string[]): Bool {
    const col = sql.ref(column);
    return sql<SqlBool>`(${sql.join(
      words.map((w) => sql`strpos(lower(${col}), ${w.toLowerCase()}) > 0`),
      sql` AND `,
    )})`;
  }

  async searchFullText<DB>(
    db: ExecutorOf<DB>,
    spec: FullTextSpec,
    tenantId: string,
    words: string[],
    limit: number,
    opts: FullTextOptions = {},
  ): Promise<FullTextHit[]> {
    const config = textSearchConfig(spec);
    // Any word: the words' queries OR-ed (||), each parsed by plainto_tsquery (no query syntax).
    const query = opts.anyWord
      ? sql.join(
          words.map((w) => sql`plainto_tsquery(${config}, ${w})`),
          sql` || `,
        )
      : sql`plainto_tsquery(${config}, ${words.join(' ')})`;
    const restrict = opts.restrict ? sql` and ${opts.restrict}` : sql``;
    // The best `limit` rows first, the headlines only of those.
    const { rows } = await sql<FullTextHit>`
        select r.id, r.score,
               ts_headline(${config}, left(r.text, 100000), r.q, 'MaxWords=24, MinWords=8, StartSel=[, StopSel=]') as snippet
        from (select t.${sql.ref(spec.key)} as id, t.text, qq.q, ts_rank(t.search, qq.q) as score
              from ${sql.table(spec.table)} t, (select ${query} as q) qq
              where t.tenant_id = ${tenantId} and t.search @@ qq.q${restrict}
              order by score desc, t.${sql.ref(spec.key)} limit ${limit}) r
        order by r.score desc, r.id`.execute(db);
    return rows;
  }

  forUpdate<DB, TB extends keyof DB, O>(query: Select<DB, TB, O>): Select<DB, TB, O> {
    return query.forUpdate();
  }

  forShare<DB, TB extends keyof DB, O>(query: Select<DB, TB, O>): Select<DB, TB, O> {
    return query.forShare();
  }

  async advisoryTransactionLock<DB>(tx: ExecutorOf<DB>, key: string): Promise<void> {
    await sql`select pg_advisory_xact_lock(hashtext(${key}))`.execute(tx);
  }

  /**
   * One connection holds the lock and runs `fn`, so concurrent `loam serve` processes migrate
   * one after the other, and a pool of one connection suffices.
   */
  withMigrationLock<DB, T>(db: Kysely<DB>, fn: (db: Kysely<DB>) => Promise<T>): Promise<T> {
    return db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(conn);
      try {
        return await fn(conn);
      } finally {
        await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(conn);
      }
    });
  }

  dueJobs(db: JobsExecutor, kinds: string[], now: number, n: number): DueJobs {
    return db
      .selectFrom('jobs')
      .select('id')
      .where('kind', 'in', kinds)
      .where((eb) =>
        eb.or([
          eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', now)]),
          eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now)]),
        ]),
      )
      .orderBy('run_at')
      .orderBy('id')
      .limit(n)
      .forUpdate()
      .skipLocked();
  }

  /** Ordered by (txid, seq): a sequence number is taken before its transaction commits. */
  outboxAfter<O>(query: OutboxSelect<O>, position: OutboxPosition, reverse = false): OutboxSelect<O> {
    return query.where((eb) => eb(eb.refTuple('txid', 'seq'), reverse ? '<' : '>', eb.tuple(position.txid, position.seq)));
  }

  outboxOrder<O>(query: OutboxSelect<O>, reverse = false): OutboxSelect<O> {
    const dir = reverse ? 'desc' : 'asc';
    return query.orderBy('txid', dir).orderBy('seq', dir);
  }

  readonly outboxPositionColumns = ['txid', 'seq'] as const;

  outboxVisibleBelow(): RawBuilder<number> {
    return sql<number>`(pg_snapshot_xmin(pg_current_snapshot())::text::bigint)`;
  }

  /** One INSERT … SELECT over a single jsonb array parameter: one round trip, no parameter limit. */
  async bulkInsert<DB, T>(tx: ExecutorOf<DB>, insert: BulkInsert<T>): Promise<void> {
    const columns = Object.entries(insert.columns);
    const parts: string[] = [];
    for (const item of insert.rows) {
      const row = insert.values(item);
      let part = '{';
      for (let i = 0; i < columns.length; i++) {
        const [name, type] = columns[i];
        part += `${i ? ',' : ''}"${name}":${type === 'json' ? row[i] : JSON.stringify(row[i])}`;
      }
      parts.push(`${part}}`);
    }
    if (parts.length === 0) return;
    const constants = Object.entries(insert.constants);
    const names = [...constants.map(([c]) => c), ...columns.map(([c]) => c)].map((c) => sql.id(identifier(c)));
    const values = [
      ...constants.map(([, v]) => (v === null ? sql`NULL` : sql`${v}`)),
      ...columns.map(([c]) => sql.ref(`x.${identifier(c)}`)),
    ];
    const shape = columns.map(([c, type]) => sql.raw(`${identifier(c)} ${type === 'json' ? 'jsonb' : type}`));
    await sql`
      INSERT INTO ${sql.table(identifier(insert.table))} (${sql.join(names)})
      SELECT ${sql.join(values)}
      FROM jsonb_to_recordset(${`[${parts.join(',')}]`}::jsonb) AS x(${sql.join(shape)})`.execute(tx);
  }

  async storedSecret(db: Kysely<Database>, opts: { generate: () => string; warn: (msg: string) => void }): Promise<string> {
    // Runs before migrations (the platform needs its secret to be built), so it creates its table
    // itself, idempotently; `platform/002_settings` declares the same table for the record.
    await db.schema
      .createTable('loam_settings')
      .ifNotExists()
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
    await db
      .insertInto('loam_settings')
      .values({ name: 'secret_key', value: opts.generate() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    opts.warn('LOAM_SECRET_KEY is unset: using a generated secret stored in the database; set it explicitly in production');
    const row = await db.selectFrom('loam_settings').select('value').where('name', '=', 'secret_key').executeTakeFirstOrThrow();
    return row.value;
  }

  async notify<DB>(tx: ExecutorOf<DB>, channel: string, payload: string): Promise<void> {
    await sql`select pg_notify(${channel}, ${payload})`.execute(tx);
  }

  async listen(channel: string, onPayload: (payload: string) => void, onError?: (err: Error) => void): Promise<() => Promise<void>> {
    return this.dedicated(async (c) => {
      c.on('notification', (n) => {
        if (n.channel === channel && n.payload !== undefined) onPayload(n.payload);
      });
      await c.query(`LISTEN ${identifierOf(channel)}`);
    }, onError);
  }

  /** A session-level advisory lock on a connection of its own: released by the server when the process dies. */
  holdPresence(id: string, onError?: (err: Error) => void): Promise<() => Promise<void>> {
    return this.dedicated(async (c) => {
      await c.query('select pg_advisory_lock($1, hashtext($2))', [PRESENCE_LOCK_CLASS, id]);
    }, onError);
  }

  /** Whether `id`'s presence lock is free (its holder is gone): taken for this transaction only. */
  presenceGone<DB>(db: Kysely<DB>, id: string): Promise<boolean | undefined> {
    return db.transaction().execute(async (tx) => {
      const { rows } = await sql<{
        free: boolean;
      }>`select pg_try_advisory_xact_lock(${PRESENCE_LOCK_CLASS}, hashtext(${id})) as free`.execute(tx);
      return rows[0]?.free === true;
    });
  }

  /**
   * A connection of its own, prepared by `setup` and prepared again after every reconnect (tried
   * each second until it succeeds). Returns what closes it.
   */
  private async dedicated(setup: (c: pg.Client) => Promise<void>, onError?: (err: Error) => void): Promise<() => Promise<void>> {
    let client: pg.Client | undefined;
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    const reconnect = () => {
      if (stopped) return;
      retry = setTimeout(
        () =>
          connect().catch((e) => {
            onError?.(e as Error);
            reconnect();
          }),
        1000,
      );
      retry.unref();
    };
    const connect = async (): Promise<void> => {
      const c = new this.pgDriver.Client({ connectionString: this.url, types: this.types });
      c.on('error', (err) => {
        onError?.(err);
        c.end().catch(() => {});
        if (client === c) {
          client = undefined;
          reconnect();
        }
      });
      try {
        await c.connect();
        await setup(c);
      } catch (err) {
        c.end().catch(() => {});
        throw err;
      }
      if (stopped) await c.end().catch(() => {});
      else client = c;
    };
    await connect();
    return async () => {
      stopped = true;
      clearTimeout(retry);
      await client?.end().catch(() => {});
    };
  }
}

/** A channel name as a quoted SQL identifier (LISTEN takes no parameters). */
const identifierOf = (name: string) => `"${name.replaceAll('"', '""')}"`;
