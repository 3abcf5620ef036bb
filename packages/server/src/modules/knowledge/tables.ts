import type { EpochMs, JsonText } from '../../platform/db/schema.js';

/** A knowledge base: its documents, chunking settings and embedding model. */
export interface KbCollectionsTable {
  id: string;
  tenant_id: string;
  name: string;
  description: string | null;
  chunk_tokens: number;
  overlap_tokens: number;
  embedding_model: string | null;
  store_answers: number;
  metadata: JsonText;
  created_at: EpochMs;
  updated_at: EpochMs;
}

/** A document of a collection and where its workflow is (awaiting_upload → … → indexed | failed). */
export interface KbDocumentsTable {
  id: string;
  tenant_id: string;
  collection_id: string;
  filename: string;
  content_type: string;
  size: number | null;
  status: string;
  error: string | null;
  blob_key: string | null;
  content_id: string | null;
  /** Extracted text, kept between the extract and chunk steps. */
  text: string | null;
  /** 1 when `text` is Markdown (headings are kept for the heading path). */
  markdown: number;
  chunk_count: number;
  metadata: JsonText;
  /** Cedar resource attributes. */
  classification: string;
  owner: string;
  department: string;
  created_at: EpochMs;
  updated_at: EpochMs;
}

/** A chunk: its text (full-text indexed), place in its document, and embedding (JSON array). */
export interface KbChunksTable {
  id: string;
  tenant_id: string;
  collection_id: string;
  document_id: string;
  position: number;
  heading_path: JsonText;
  page: number | null;
  tokens: number;
  text: string;
  embedding: string | null;
  fts_rowid: number | null;
  /** The embedding's row in the vector index (sqlite-vec) and its dimensions. */
  vec_rowid: number | null;
  vec_dims: number | null;
}

/** One answered query, for the observatory and the audit log. */
export interface KbQueriesTable {
  id: string;
  tenant_id: string;
  actor: string;
  question: string;
  collection_ids: JsonText;
  chunk_ids: JsonText;
  model: string | null;
  latency_ms: number;
  input_tokens: number;
  output_tokens: number;
  outcome: string;
  answer: string | null;
  created_at: EpochMs;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    kb_collections: KbCollectionsTable;
    kb_documents: KbDocumentsTable;
    kb_chunks: KbChunksTable;
    kb_queries: KbQueriesTable;
  }
}
