import type { EpochMs, JsonText } from '../../platform/db/schema.js';

export type ContentSourceType = 'TEXT' | 'URL' | 'FILE';
export type ContentItemStatus = 'UPLOADING' | 'PENDING' | 'PROCESSING' | 'COMPLETED' | 'ERROR';

/** Content items (migration 001_content). */
export interface ContentItemsTable {
  id: string;
  tenant_id: string;
  user_id: string;
  source_type: ContentSourceType;
  source_uri: string;
  s3_key: string | null;
  status: ContentItemStatus;
  content_type: string;
  size: number;
  /** Record<string, string>. */
  metadata: JsonText;
  title: string | null;
  word_count: number | null;
  language: string | null;
  page_count: number | null;
  detected_type: string | null;
  warning: string | null;
  error: string | null;
  source_sub_type: string | null;
  user_notes: string | null;
  callback_url: string | null;
  created_at: EpochMs;
  updated_at: EpochMs;
  processed_at: EpochMs | null;
}

/**
 * The text of each item (raw for TEXT items, extracted otherwise), indexed for full-text search.
 * The index itself belongs to the dialect (platform/db/dialect): on SQLite the FTS5 table
 * `content_fts` (whose row `fts_rowid` points to), on PostgreSQL a `search` tsvector column of
 * this table; neither is named outside the dialect, so neither is declared here.
 */
export interface ContentTextsTable {
  item_id: string;
  tenant_id: string;
  text: string;
  fts_rowid: number | null;
  /** Index rows from `fts_rowid` on (SQLite indexes a long text in parts); null is one. */
  fts_parts: number | null;
  updated_at: EpochMs;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    content_items: ContentItemsTable;
    content_texts: ContentTextsTable;
  }
}
