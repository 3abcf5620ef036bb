/**
 * The dialect conformance suite: every SqlDialect method, on real tables, with the same
 * expectations on SQLite and PostgreSQL (what differs is how, never what).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RawBuilder, type SqlBool, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, describeEachDialect, untyped } from '../../../test/harness.js';
import { platformMigrations } from '../../migrations.js';
import { type DatabaseHandle, type Db, type DialectName, type Executor, openDatabase } from '../index.js';
import { createMigrator, migrateToLatest } from '../migrate.js';
import type { FullTextSpec } from './index.js';

const FULL_TEXT: FullTextSpec = { table: 'docs', key: 'doc_id', ftsTable: 'docs_fts' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeEachDialect('SqlDialect conformance', (name: DialectName) => {
  let database: DatabaseHandle;
  let dataDir: string;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'loam-dialect-'));
    let url = '';
    if (name === 'postgres') {
      const created = await createPostgresDatabase();
      url = created.url;
      drop = created.drop;
    }
    database = openDatabase({ url, sqlitePath: join(dataDir, 'loam.db'), poolMax: 4 });
    await migrateToLatest(createMigrator(untyped(database.db), database.dialect, [platformMigrations]));
  });
  afterAll(async () => {
    await database?.close();
    await drop?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('opens the database it is named after and reports its version', async () => {
    expect(database.dialect.name).toBe(name);
    expect(await database.version()).toMatch(/\d+\.\d+/);
  });

  describe('schema', () => {
    it('serial primary keys count up, the txid default is a number, JSON columns keep JSON text', async () => {
      const { dialect } = database;
      const db = untyped(database.db);
      await dialect
        .serialPrimaryKey(db.schema.createTable('serials'), 'n')
        .addColumn('txid', 'bigint', (c) => c.notNull().defaultTo(dialect.transactionIdDefault()))
        .addColumn('doc', dialect.jsonType, (c) => c.notNull())
        .execute();
      await db.insertInto('serials').values({ doc: '{"a":1}' }).execute();
      await db.insertInto('serials').values({ doc: '{"a":2}' }).execute();
      const rows = await db.selectFrom('serials').selectAll().orderBy('n').execute();
      expect(rows.map((r) => Number(r.n))).toEqual([1, 2]);
      for (const r of rows) expect(Number(r.txid)).toBeGreaterThanOrEqual(0);
      expect(Number(rows[1].txid)).toBeGreaterThanOrEqual(Number(rows[0].txid));
      expect(rows.map((r) => JSON.parse(r.doc))).toEqual([{ a: 1 }, { a: 2 }]);
    });

    it('append-only triggers reject updates and deletes but not inserts', async () => {
      const { dialect } = database;
      const db = untyped(database.db);
      await db.schema
        .createTable('ledger')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .execute();
      await dialect.createAppendOnlyTriggers(db, 'ledger');
      await db.insertInto('ledger').values({ id: 'a' }).execute();
      await expect(db.updateTable('ledger').set({ id: 'b' }).execute()).rejects.toThrow(/ledger is append-only/);
      await expect(db.deleteFrom('ledger').execute()).rejects.toThrow(/ledger is append-only/);
      expect(await db.selectFrom('ledger').select('id').execute()).toEqual([{ id: 'a' }]);
    });

    it('refuses to splice a table name that is not a plain identifier', async () => {
      await expect(database.dialect.createAppendOnlyTriggers(untyped(database.db), 'x; drop table jobs')).rejects.toThrow(/identifier/);
    });

    it('analyzes a table after an index is created', async () => {
      await untyped(database.db).schema.createIndex('ledger_id').on('ledger').column('id').execute();
      await expect(database.dialect.analyzeAfterIndex(untyped(database.db), 'ledger')).resolves.toBeUndefined();
    });
  });

  describe('JSON', () => {
    const docs = [
      { id: 'r1', data: { s: 'apple', n: 3, b: true, arr: ['x', 2], nested: { k: 'deep' }, z: null } },
      { id: 'r2', data: { s: 'banana', n: 10.5, b: false, arr: [true] } },
      { id: 'r3', data: { s: 'Apricot', n: -1, arr: 'not an array' } },
      { id: 'r4', data: { n: '3' } },
    ];
    beforeAll(async () => {
      const { dialect } = database;
      const db = untyped(database.db);
      await db.schema
        .createTable('jdocs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('data', dialect.jsonType, (c) => c.notNull())
        .addColumn('tags', dialect.jsonType, (c) => c.notNull())
        .execute();
      await db
        .insertInto('jdocs')
        .values(docs.map((d, i) => ({ id: d.id, data: JSON.stringify(d.data), tags: JSON.stringify(i % 2 ? ['odd', 'x'] : ['even']) })))
        .execute();
    });
    const ids = async (where: RawBuilder<unknown>) =>
      (
        await untyped(database.db)
          .selectFrom('jdocs')
          .select('id')
          .where(where as RawBuilder<SqlBool>)
          .orderBy('id')
          .execute()
      ).map((r) => r.id);

    it('compares typed: numbers with numbers, strings with strings, null as missing or null', async () => {
      const j = database.dialect.json('data');
      expect(await ids(j.anyOf(['n'], [3]))).toEqual(['r1']);
      expect(await ids(j.anyOf(['n'], ['3']))).toEqual(['r4']);
      expect(await ids(j.anyOf(['s'], ['apple', 'banana']))).toEqual(['r1', 'r2']);
      expect(await ids(j.anyOf(['b'], [true]))).toEqual(['r1']);
      expect(await ids(j.anyOf(['z'], [null]))).toEqual(['r1', 'r2', 'r3', 'r4']);
      expect(await ids(j.anyOf(['s'], [null]))).toEqual(['r4']);
      expect(await ids(j.anyOf(['nested', 'k'], ['deep']))).toEqual(['r1']);
      expect(await ids(j.range(['n'], sql.raw('>'), 2))).toEqual(['r1', 'r2']);
      // Byte order: upper case sorts before lower case.
      expect(await ids(j.range(['s'], sql.raw('<'), 'apple'))).toEqual(['r3']);
    });

    it('contains, startsWith and exists', async () => {
      const j = database.dialect.json('data');
      expect(await ids(j.contains(['s'], 'an'))).toEqual(['r2']);
      expect(await ids(j.contains(['arr'], 'x'))).toEqual(['r1']);
      expect(await ids(j.contains(['arr'], 2))).toEqual(['r1']);
      expect(await ids(j.contains(['arr'], true))).toEqual(['r2']);
      expect(await ids(j.contains(['arr'], 'array'))).toEqual(['r3']);
      expect(await ids(j.startsWith(['s'], 'ap'))).toEqual(['r1']);
      expect(await ids(j.exists(['z'], true))).toEqual(['r1']);
      expect(await ids(j.exists(['b'], false))).toEqual(['r3', 'r4']);
    });

    it('every comparison is TRUE or FALSE, never NULL, so NOT is the complement', async () => {
      const j = database.dialect.json('data');
      expect(await ids(sql`NOT ${j.anyOf(['s'], ['apple'])}`)).toEqual(['r2', 'r3', 'r4']);
      expect(await ids(sql`NOT ${j.range(['n'], sql.raw('>'), 2)}`)).toEqual(['r3', 'r4']);
    });

    it('selected values decode to JSON, params compare with them, sort keys put nulls last', async () => {
      const { dialect } = database;
      const db = untyped(database.db);
      const j = dialect.json('data');
      const rows = await db
        .selectFrom('jdocs')
        .select(['id', j.value(['b']).as('b'), j.value(['n']).as('n')])
        .orderBy('id')
        .execute();
      expect(rows.map((r) => j.decode(r.b, true))).toEqual([true, false, null, null]);
      expect(rows.map((r) => j.decode(r.n, false))).toEqual([3, 10.5, -1, '3']);
      const again = await db
        .selectFrom('jdocs')
        .select('id')
        .where(sql<SqlBool>`${j.value(['n'])} = ${j.param(rows[1].n)}`)
        .execute();
      expect(again).toEqual([{ id: 'r2' }]);
      // JSON null is SQL NULL, like a missing field, so `(key IS NULL)` puts both last.
      expect(await ids(sql`${j.sortKey(['z'])} IS NULL`)).toEqual(['r1', 'r2', 'r3', 'r4']);
      expect(await ids(sql`${j.sortKey(['s'])} IS NULL`)).toEqual(['r4']);
    });

    it('ordered scalars give MIN/MAX of numbers and strings', async () => {
      const { dialect } = database;
      const db = untyped(database.db);
      const j = dialect.json('data');
      const typed = j.range(['n'], sql.raw('>='), -Number.MAX_VALUE);
      const { rows } = await sql<{
        lo: unknown;
        hi: unknown;
      }>`select min(case when ${typed} then ${j.orderedScalar(['n'], true)} end) as lo,
        max(case when ${typed} then ${j.orderedScalar(['n'], true)} end) as hi from jdocs`.execute(db);
      expect([Number(rows[0].lo), Number(rows[0].hi)]).toEqual([-1, 10.5]);
      const str = j.range(['s'], sql.raw('>='), '');
      const s = await sql<{ lo: unknown }>`select min(case when ${str} then ${j.orderedScalar(['s'], false)} end) as lo from jdocs`.execute(
        db,
      );
      expect(String(s.rows[0].lo)).toBe('Apricot');
    });

    it('jsonText reads a nested path as text; jsonArrayContains finds an element', async () => {
      const { dialect } = database;
      const db = untyped(database.db);
      const row = await db
        .selectFrom('jdocs')
        .select(dialect.jsonText(sql.ref('data'), ['nested', 'k']).as('k'))
        .where('id', '=', 'r1')
        .executeTakeFirstOrThrow();
      expect(row.k).toBe('deep');
      expect(await ids(dialect.jsonArrayContains('tags', 'odd'))).toEqual(['r2', 'r4']);
      expect(await ids(dialect.jsonArrayContains('tags', 'od'))).toEqual([]);
    });
  });

  describe('full text', () => {
    beforeAll(async () => {
      const { dialect } = database;
      const db = untyped(database.db);
      await db.schema
        .createTable('docs')
        .addColumn('doc_id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('fts_rowid', 'integer')
        .execute();
      await dialect.createFullText(db, FULL_TEXT);
      const put = async (tenant: string, id: string, text: string) => {
        await db.insertInto('docs').values({ doc_id: id, tenant_id: tenant, text }).execute();
        await dialect.putFullText(db, FULL_TEXT, tenant, id, text);
      };
      await put('t1', 'd1', 'The quick brown fox jumps over the lazy dog');
      await put('t1', 'd2', 'A quick brown fox, quick and brown and quick again');
      await put('t1', 'd3', 'Nothing to see here');
      await put('t2', 'd4', 'quick brown fox of another tenant');
    });
    const search = (tenant: string, words: string[]) => database.dialect.searchFullText(untyped(database.db), FULL_TEXT, tenant, words, 10);

    it('matches every word, within the tenant, best first, with a marked snippet', async () => {
      const hits = await search('t1', ['quick', 'fox']);
      expect(hits.map((h) => h.id)).toEqual(['d2', 'd1']);
      expect(Number(hits[0].score)).toBeGreaterThan(Number(hits[1].score));
      expect(hits[0].snippet).toMatch(/\[quick\]/i);
      expect(await search('t1', ['quick', 'cat'])).toEqual([]);
      expect((await search('t2', ['fox'])).map((h) => h.id)).toEqual(['d4']);
    });

    it('treats query syntax as words', async () => {
      expect(await search('t1', ['NOT', 'OR'])).toEqual([]);
    });

    it('re-indexing replaces a document; removing it (and its row) leaves no hit', async () => {
      const { dialect } = database;
      const db = untyped(database.db);
      await db.updateTable('docs').set({ text: 'a slow green turtle' }).where('doc_id', '=', 'd1').execute();
      await dialect.putFullText(db, FULL_TEXT, 't1', 'd1', 'a slow green turtle');
      expect((await search('t1', ['fox'])).map((h) => h.id)).toEqual(['d2']);
      expect((await search('t1', ['turtle'])).map((h) => h.id)).toEqual(['d1']);
      await dialect.removeFullText(db, FULL_TEXT, 'd1');
      await db.deleteFrom('docs').where('doc_id', '=', 'd1').execute();
      expect(await search('t1', ['turtle'])).toEqual([]);
    });
  });

  describe('full text of long documents, in parts', () => {
    const PARTED: FullTextSpec = { table: 'long_docs', key: 'doc_id', ftsTable: 'long_docs_fts', parts: 'fts_parts' };
    // ~400,000 characters (several parts on SQLite; within PostgreSQL's indexed prefix).
    const filler = Array.from({ length: 40_000 }, (_, i) => `w${i % 997}x`).join(' ');
    const long = `alpha ${filler} middle ${filler} omega`;
    const db = () => untyped(database.db);
    const put = async (id: string, text: string, insert = true) => {
      if (insert) await db().insertInto('long_docs').values({ doc_id: id, tenant_id: 't1', text }).execute();
      await database.dialect.putFullText(db(), PARTED, 't1', id, text);
    };
    const search = (words: string[], anyWord = false) =>
      database.dialect.searchFullText(db(), PARTED, 't1', words, 10, { anyWord }).then((hits) => hits.map((h) => h.id).sort());
    beforeAll(async () => {
      await db()
        .schema.createTable('long_docs')
        .addColumn('doc_id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('fts_rowid', 'integer')
        .addColumn('fts_parts', 'integer')
        .execute();
      await database.dialect.createFullText(db(), PARTED);
    });

    it('finds a document by words far apart, lets the event loop run while indexing it, and keeps neighbours on re-index and removal', async () => {
      let turns = 0;
      let indexing = true;
      const spin = () => {
        if (!indexing) return;
        turns++;
        setImmediate(spin);
      };
      setImmediate(spin);
      await put('L1', long);
      indexing = false;
      expect(turns).toBeGreaterThanOrEqual(3); // the loop ran between the parts
      await put('S1', 'alpha beta');
      expect(await search(['alpha', 'omega'])).toEqual(['L1']); // first and last part
      expect(await search(['alpha'])).toEqual(['L1', 'S1']);
      expect(await search(['omega', 'beta'])).toEqual([]);
      expect(await search(['omega', 'beta'], true)).toEqual(['L1', 'S1']);
      const [hit] = await database.dialect.searchFullText(db(), PARTED, 't1', ['middle'], 10);
      // SQLite's snippet comes from the part that matched (PostgreSQL's from the text's first 100,000 characters).
      if (name === 'sqlite') expect(hit.snippet).toContain('[middle]');
      // Re-indexed shorter, then removed: S1, indexed after L1's parts, is untouched.
      await db().updateTable('long_docs').set({ text: 'short now' }).where('doc_id', '=', 'L1').execute();
      await put('L1', 'short now', false);
      expect(await search(['omega'])).toEqual([]);
      expect(await search(['short'])).toEqual(['L1']);
      await database.dialect.removeFullText(db(), PARTED, 'L1');
      await db().deleteFrom('long_docs').where('doc_id', '=', 'L1').execute();
      expect(await search(['short'])).toEqual([]);
      expect(await search(['alpha', 'beta'])).toEqual(['S1']);
    });
  });

  describe('locks', () => {
    beforeAll(async () => {
      await untyped(database.db)
        .schema.createTable('counters')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('n', 'integer', (c) => c.notNull())
        .execute();
      await untyped(database.db).insertInto('counters').values({ id: 'c', n: 0 }).execute();
    });

    it('forUpdate / forShare lock rows exactly when the dialect says it has row locks', () => {
      const { dialect } = database;
      const db = untyped(database.db);
      const q = db.selectFrom('counters').selectAll();
      expect(/for update/i.test(dialect.forUpdate(q).compile().sql)).toBe(dialect.rowLocks);
      expect(/for share/i.test(dialect.forShare(q).compile().sql)).toBe(dialect.rowLocks);
    });

    /** Two concurrent read-then-write transactions; with the lock, neither loses the other's update. */
    async function increments(lock: (tx: Executor) => Promise<unknown>) {
      const db = untyped(database.db);
      await db.updateTable('counters').set({ n: 0 }).execute();
      const once = () =>
        db.transaction().execute(async (tx) => {
          await lock(tx);
          const { n } = await tx.selectFrom('counters').select('n').where('id', '=', 'c').executeTakeFirstOrThrow();
          await sleep(50);
          await tx
            .updateTable('counters')
            .set({ n: Number(n) + 1 })
            .where('id', '=', 'c')
            .execute();
        });
      await Promise.all([once(), once()]);
      return Number((await db.selectFrom('counters').select('n').executeTakeFirstOrThrow()).n);
    }

    it('an advisory transaction lock serializes transactions taking the same key', async () => {
      expect(await increments((tx) => database.dialect.advisoryTransactionLock(tx, 'counter:c'))).toBe(2);
    });

    it('a row locked for update serializes read-then-write transactions', async () => {
      const lockRow = (tx: Executor) =>
        database.dialect
          .forUpdate(
            untyped(tx as Db)
              .selectFrom('counters')
              .selectAll()
              .where('id', '=', 'c'),
          )
          .execute();
      expect(await increments(lockRow)).toBe(2);
    });

    it('the migration lock runs the function on a working connection and returns its result', async () => {
      const got = await database.dialect.withMigrationLock(untyped(database.db), async (db) => {
        const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db);
        return Number(rows[0].one);
      });
      expect(got).toBe(1);
    });
  });

  describe('job claim', () => {
    const NOW = 1_000_000;
    beforeAll(async () => {
      const job = (
        id: string,
        kind: string,
        status: 'queued' | 'running' | 'succeeded',
        runAt: number,
        leaseUntil: number | null = null,
      ) => ({
        id,
        kind,
        status,
        run_at: runAt,
        lease_until: leaseUntil,
        payload: '{}',
        max_attempts: 3,
        created_at: 0,
        updated_at: 0,
      });
      await untyped(database.db)
        .insertInto('jobs')
        .values([
          job('j_late', 'a', 'queued', NOW - 10),
          job('j_early', 'a', 'queued', NOW - 100),
          job('j_future', 'a', 'queued', NOW + 100),
          job('j_expired', 'a', 'running', NOW - 50, NOW - 1),
          job('j_leased', 'a', 'running', NOW - 60, NOW + 1000),
          job('j_other', 'b', 'queued', NOW - 200),
          job('j_done', 'a', 'succeeded', NOW - 300),
        ])
        .execute();
    });
    const due = async (kinds: string[], n: number) =>
      (
        await untyped(database.db)
          .selectFrom('jobs')
          .select(['id', 'run_at'])
          .where('id', 'in', database.dialect.dueJobs(untyped(database.db), kinds, NOW, n))
          .orderBy('run_at')
          .execute()
      ).map((r) => r.id);

    it('selects queued-and-due and lease-expired jobs of the kinds asked, oldest first, at most n', async () => {
      expect(await due(['a'], 10)).toEqual(['j_early', 'j_expired', 'j_late']);
      expect(await due(['a', 'b'], 2)).toEqual(['j_other', 'j_early']);
      expect(await due(['c'], 10)).toEqual([]);
    });

    it('works as the subquery of a claiming UPDATE', async () => {
      const claimed = await untyped(database.db)
        .updateTable('jobs')
        .set({ status: 'running', lease_until: NOW + 10 })
        .where('id', 'in', database.dialect.dueJobs(untyped(database.db), ['a'], NOW, 1))
        .returning('id')
        .execute();
      expect(claimed).toEqual([{ id: 'j_early' }]);
      expect(await due(['a'], 10)).toEqual(['j_expired', 'j_late']);
    });
  });

  describe('outbox', () => {
    const event = (id: string) => ({ id, tenant_id: 't', type: 'x', source: 's', subject: id, time: 0, data: '{}' });
    beforeAll(async () => {
      const { db } = database;
      await db.insertInto('outbox_events').values(event('e1')).execute();
      await db.transaction().execute(async (tx) => {
        await tx.insertInto('outbox_events').values(event('e2')).execute();
        await tx.insertInto('outbox_events').values(event('e3')).execute();
      });
    });
    const after = (position: { txid: number; seq: number }) => {
      const { dialect } = database;
      const db = untyped(database.db);
      return dialect.outboxOrder(dialect.outboxAfter(db.selectFrom('outbox_events').selectAll(), position)).execute();
    };

    it('reads the committed events after a position, in order', async () => {
      const all = await after({ txid: 0, seq: 0 });
      expect(all.map((e) => e.id)).toEqual(['e1', 'e2', 'e3']);
      const first = all[0];
      expect((await after({ txid: Number(first.txid), seq: Number(first.seq) })).map((e) => e.id)).toEqual(['e2', 'e3']);
      const last = all[2];
      expect(await after({ txid: Number(last.txid), seq: Number(last.seq) })).toEqual([]);
    });

    it('holds back the events of a transaction still open (SQLite commits in order: nothing to hold back)', async () => {
      const { dialect } = database;
      const db = untyped(database.db);
      const below = dialect.outboxVisibleBelow();
      if (!below) return;
      await db.transaction().execute(async (tx) => {
        await tx.insertInto('outbox_events').values(event('e4')).execute();
        const open = await tx.selectFrom('outbox_events').select('txid').where('id', '=', 'e4').executeTakeFirstOrThrow();
        const seen = await db.selectFrom('outbox_events').select('id').where('txid', '<', below).execute();
        expect(seen.map((e) => e.id)).not.toContain('e4');
        expect(Number(open.txid)).toBeGreaterThan(0);
      });
    });
  });

  describe('bulk insert', () => {
    beforeAll(async () => {
      await untyped(database.db)
        .schema.createTable('bulk')
        .addColumn('grp', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('gone', 'text')
        .addColumn('doc', database.dialect.jsonType, (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .execute();
    });
    const insert = (tx: Executor, grp: string, rows: { id: string; doc: string; size: number }[]) =>
      database.dialect.bulkInsert(tx, {
        table: 'bulk',
        constants: { grp, gone: null },
        columns: { id: 'text', doc: 'json', size: 'integer' },
        rows,
        values: (r) => [r.id, r.doc, r.size],
      });
    const rowsOf = async (grp: string) =>
      (await untyped(database.db).selectFrom('bulk').selectAll().where('grp', '=', grp).orderBy('id').execute()).map((r) => ({
        ...r,
        doc: JSON.parse(r.doc),
        size: Number(r.size),
      }));

    it('inserts every row with the shared values, in the caller’s transaction', async () => {
      await untyped(database.db)
        .transaction()
        .execute((tx) =>
          insert(tx, 'g1', [
            { id: 'a', doc: '{"x":[1,"two"],"q":"say \\"hi\\""}', size: 7 },
            { id: 'b', doc: '[]', size: 0 },
            { id: 'c"', doc: '"text"', size: 1 },
          ]),
        );
      expect(await rowsOf('g1')).toEqual([
        { grp: 'g1', id: 'a', gone: null, doc: { x: [1, 'two'], q: 'say "hi"' }, size: 7 },
        { grp: 'g1', id: 'b', gone: null, doc: [], size: 0 },
        { grp: 'g1', id: 'c"', gone: null, doc: 'text', size: 1 },
      ]);
      await insert(untyped(database.db), 'g1', []);
      expect(await rowsOf('g1')).toHaveLength(3);
    });

    it('rolls back with the transaction', async () => {
      await expect(
        untyped(database.db)
          .transaction()
          .execute(async (tx) => {
            await insert(tx, 'g2', [{ id: 'a', doc: '{}', size: 2 }]);
            throw new Error('abort');
          }),
      ).rejects.toThrow('abort');
      expect(await rowsOf('g2')).toEqual([]);
    });
  });

  describe('stored secret', () => {
    it('generates a secret once and returns the same one afterwards', async () => {
      let generated = 0;
      const opts = { dataDir, generate: () => `secret-${++generated}`, warn: () => {} };
      const first = await database.dialect.storedSecret(untyped(database.db), opts);
      expect(first).toBe('secret-1');
      expect(await database.dialect.storedSecret(untyped(database.db), opts)).toBe('secret-1');
    });
  });
});
