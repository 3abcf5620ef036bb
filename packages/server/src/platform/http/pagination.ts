import type { Pagination } from '@loam/api';
import { type Expression, type SelectQueryBuilder, type SqlBool, sql } from 'kysely';
import type { Signer } from '../crypto/index.js';
import { invalidCursor } from './context.js';

export interface PageRequest {
  limit?: number;
  cursor?: string;
  count?: boolean;
}

/** A list's key values (a row's position in the list's order): strings, numbers, null. */
export type PageKey = (string | number | null)[];

/**
 * Reads up to `n` rows of the list strictly after `from` in the list's order, or, when `reverse`,
 * strictly before it in the reverse order (nearest first); from the start (or the end) when
 * `from` is undefined.
 */
export type PageFetch<R> = (from: PageKey | undefined, reverse: boolean, n: number) => Promise<R[]>;

export interface KeysetOptions<R> {
  signer: Signer;
  /** The list the cursors belong to (its filters included): a cursor is refused on another. */
  scope: string;
  /** The row's key values, in the order `fetch` compares them; the same length for every row. */
  keyOf: (row: R) => PageKey;
  fetch: PageFetch<R>;
  count?: () => Promise<number>;
}

const isKey = (k: unknown): k is PageKey =>
  Array.isArray(k) && k.length > 0 && k.every((v) => v === null || typeof v === 'string' || typeof v === 'number');

/**
 * Keyset pagination on any total order: stable under concurrent inserts, with a cursor for the
 * next page (`links.next`) and, past the first page, one for the previous page (`links.prev`).
 * Cursors are HMAC-signed and bound to `scope`, so a cursor cannot be forged or replayed on
 * another list. Every paginated list builds its page with this (or `pageByKey` on top of it).
 */
export async function keysetPage<R>(req: PageRequest, o: KeysetOptions<R>): Promise<{ items: R[]; pagination: Pagination }> {
  const limit = req.limit ?? 100;
  const purpose = `cursor:${o.scope}`;
  let from: PageKey | undefined;
  let backwards = false;
  if (req.cursor) {
    const c = o.signer.verify<{ after?: unknown; before?: unknown }>(req.cursor, purpose);
    const key = c?.before ?? c?.after;
    if (!isKey(key)) throw invalidCursor();
    from = key;
    backwards = c?.before !== undefined;
  }
  const rows = await o.fetch(from, backwards, limit + 1);
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  // A `before` cursor (links.prev) reads the page ending just before it, nearest first.
  if (backwards) items.reverse();
  const first = items[0];
  const last = items[items.length - 1];
  // Walking forwards, more rows means a next page; backwards, the page we came from is next.
  const hasMore = backwards ? last !== undefined : more;
  const hasPrev = backwards ? more : req.cursor !== undefined;
  const next = hasMore && last !== undefined ? o.signer.sign({ after: o.keyOf(last) }, purpose) : undefined;
  const prev = hasPrev && first !== undefined ? o.signer.sign({ before: o.keyOf(first) }, purpose) : undefined;
  const pagination: Pagination = {
    has_more: hasMore,
    page_size: items.length,
    ...(next ? { cursor: next } : {}),
    ...(prev ? { prev_cursor: prev } : {}),
  };
  if (req.count && o.count) pagination.total_count = await o.count();
  return { items, pagination };
}

/** One column of a list's order: its SQL name, the row field it comes back as, its direction. */
export interface KeyColumn<R = unknown> {
  column: string;
  /** The key value of a row (default: the row's field named like the column, without a table prefix). */
  value?: (row: R) => string | number;
  desc?: boolean;
}

/**
 * The rows of `query` strictly after `key` in the order `columns` give (before it, nearest first,
 * when `reverse`), in that order: the SQL half of keyset pagination on non-null columns.
 */
export function seekKeyset<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  columns: readonly KeyColumn<never>[],
  key: PageKey | undefined,
  reverse: boolean,
): SelectQueryBuilder<DB, TB, O> {
  let q = query;
  if (key) {
    if (key.length !== columns.length || key.some((v) => v === null)) throw invalidCursor();
    // (a > x) OR (a = x AND b > y) OR ...: works on every dialect, unlike row-value comparison
    // with mixed directions.
    const past = (i: number): Expression<SqlBool> => {
      const c = columns[i];
      const cmp = sql.raw((c.desc ?? false) !== reverse ? '<' : '>');
      const here = sql<SqlBool>`${sql.ref(c.column)} ${cmp} ${key[i]}`;
      if (i === columns.length - 1) return here;
      return sql<SqlBool>`(${here} OR (${sql.ref(c.column)} = ${key[i]} AND ${past(i + 1)}))`;
    };
    q = q.where(past(0));
  }
  for (const c of columns) q = q.orderBy(sql.ref(c.column), (c.desc ?? false) !== reverse ? 'desc' : 'asc');
  return q;
}

const fieldOf = (column: string) => column.slice(column.lastIndexOf('.') + 1);

/** `keysetPage` over a query builder ordered by `columns` (the last one unique). */
export function pageByKey<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  req: PageRequest,
  o: { signer: Signer; scope: string; columns: readonly KeyColumn<O>[]; count?: () => Promise<number> },
): Promise<{ items: O[]; pagination: Pagination }> {
  const keyOf = (row: O): PageKey =>
    o.columns.map((c) => (c.value ? c.value(row) : ((row as Record<string, string | number>)[fieldOf(c.column)] ?? null)));
  const fetch: PageFetch<O> = (from, reverse, n) =>
    seekKeyset(query, o.columns as readonly KeyColumn<never>[], from, reverse)
      .limit(n)
      .execute();
  return keysetPage(req, { signer: o.signer, scope: o.scope, keyOf, fetch, count: o.count });
}

/**
 * Keyset pagination on a unique, time-sortable id column: stable under concurrent inserts.
 * `countQuery` answers `?count=true`.
 */
export async function pageById<DB, TB extends keyof DB, O, CDB = DB, CTB extends keyof CDB = keyof CDB>(
  query: SelectQueryBuilder<DB, TB, O>,
  req: PageRequest,
  signer: Signer,
  scope: string,
  countQuery?: SelectQueryBuilder<CDB, CTB, { n: number | string | bigint }>,
  column = 'id',
  /** Newest first (ids are time-sortable); the cursor scope should name the direction. */
  descending = false,
): Promise<{ items: O[]; pagination: Pagination; next?: string }> {
  const count = countQuery && (async () => Number((await countQuery.executeTakeFirstOrThrow()).n));
  const page = await pageByKey(query, req, {
    signer,
    scope,
    columns: [{ column, value: (row) => (row as { id: string }).id, desc: descending }],
    count,
  });
  return { ...page, next: page.pagination.cursor };
}
