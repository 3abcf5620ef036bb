import type { Pagination } from '@loam/api';
import { type SelectQueryBuilder, sql } from 'kysely';
import type { Signer } from '../crypto/index.js';
import { invalidCursor } from './context.js';

export interface PageRequest {
  limit?: number;
  cursor?: string;
  count?: boolean;
}

/**
 * Keyset pagination on a unique, time-sortable id column: stable under concurrent inserts.
 * Cursors are HMAC-signed and bound to `scope` (the list they came from), so a cursor cannot be
 * forged or replayed on another list.
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
  const limit = req.limit ?? 100;
  let q = query;
  let before: string | undefined;
  if (req.cursor) {
    const c = signer.verify<{ after?: string; before?: string }>(req.cursor, `cursor:${scope}`);
    if (!c || (typeof c.after !== 'string' && typeof c.before !== 'string')) throw invalidCursor();
    before = c.before;
    // A `before` cursor (links.prev) reads the page ending just before it, walking backwards.
    q =
      before !== undefined
        ? q.where(sql.ref(column), descending ? '>' : '<', before)
        : q.where(sql.ref(column), descending ? '<' : '>', c.after as string);
  }
  const backwards = before !== undefined;
  const rows = await q
    .orderBy(sql.ref(column), descending !== backwards ? 'desc' : 'asc')
    .limit(limit + 1)
    .execute();
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  if (backwards) items.reverse();
  const idOf = (row: O | undefined) => (row as unknown as { id: string } | undefined)?.id;
  const first = idOf(items[0]);
  const last = idOf(items[items.length - 1]);
  // Walking forwards, more rows means a next page; backwards, the page we came from is next.
  const hasMore = backwards ? last !== undefined : more;
  const next = hasMore && last !== undefined ? signer.sign({ after: last }, `cursor:${scope}`) : undefined;
  const hasPrev = backwards ? more : req.cursor !== undefined;
  const prev = hasPrev && first !== undefined ? signer.sign({ before: first }, `cursor:${scope}`) : undefined;
  const pagination: Pagination = {
    has_more: hasMore,
    page_size: items.length,
    ...(next ? { cursor: next } : {}),
    ...(prev ? { prev_cursor: prev } : {}),
  };
  if (req.count && countQuery) pagination.total_count = Number((await countQuery.executeTakeFirstOrThrow()).n);
  return { items, pagination, next };
}
