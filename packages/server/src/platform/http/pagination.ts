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
  if (req.cursor) {
    const c = signer.verify<{ after: string }>(req.cursor, `cursor:${scope}`);
    if (!c || typeof c.after !== 'string') throw invalidCursor();
    q = q.where(sql.ref(column), descending ? '<' : '>', c.after);
  }
  const rows = await q
    .orderBy(sql.ref(column), descending ? 'desc' : 'asc')
    .limit(limit + 1)
    .execute();
  const hasMore = rows.length > limit;
  const items = hasMore ? rows.slice(0, limit) : rows;
  const next = hasMore ? signer.sign({ after: (items[items.length - 1] as unknown as { id: string }).id }, `cursor:${scope}`) : undefined;
  const pagination: Pagination = { has_more: hasMore, page_size: items.length, ...(next ? { cursor: next } : {}) };
  if (req.count && countQuery) pagination.total_count = Number((await countQuery.executeTakeFirstOrThrow()).n);
  return { items, pagination, next };
}
