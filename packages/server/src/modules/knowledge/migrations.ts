import { fromJson, jsonType } from '../../platform/db/index.js';
import type { MigrationSet } from '../../platform/db/migrate.js';
import { CHUNKS_FULL_TEXT, CHUNKS_VECTORS } from './store.js';
import { indexedText } from './workflow.js';

/** Collections, documents, chunks (full-text indexed: FTS5 / tsvector + GIN) and recorded queries. */
export const knowledgeMigrations: MigrationSet = {
  module: 'knowledge',
  migrations: {
    async '001_knowledge'(db, dialect) {
      await db.schema
        .createTable('kb_collections')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('chunk_tokens', 'integer', (c) => c.notNull())
        .addColumn('overlap_tokens', 'integer', (c) => c.notNull())
        .addColumn('embedding_model', 'text')
        .addColumn('store_answers', 'integer', (c) => c.notNull())
        .addColumn('metadata', jsonType(dialect), (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('kb_collections_tenant').on('kb_collections').columns(['tenant_id', 'id']).execute();

      await db.schema
        .createTable('kb_documents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('collection_id', 'text', (c) => c.notNull().references('kb_collections.id').onDelete('cascade'))
        .addColumn('filename', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('blob_key', 'text')
        .addColumn('content_id', 'text')
        .addColumn('text', 'text')
        .addColumn('markdown', 'integer', (c) => c.notNull())
        .addColumn('chunk_count', 'integer', (c) => c.notNull())
        .addColumn('metadata', jsonType(dialect), (c) => c.notNull())
        .addColumn('classification', 'text', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('department', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('kb_documents_collection').on('kb_documents').columns(['tenant_id', 'collection_id', 'id']).execute();
      await db.schema.createIndex('kb_documents_key').on('kb_documents').column('blob_key').execute();

      await db.schema
        .createTable('kb_chunks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('collection_id', 'text', (c) => c.notNull())
        .addColumn('document_id', 'text', (c) => c.notNull().references('kb_documents.id').onDelete('cascade'))
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('heading_path', jsonType(dialect), (c) => c.notNull())
        .addColumn('page', 'integer')
        .addColumn('tokens', 'integer', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('embedding', 'text')
        .addColumn('fts_rowid', 'integer')
        .execute();
      await db.schema.createIndex('kb_chunks_document').on('kb_chunks').columns(['document_id', 'position']).execute();
      await db.schema.createIndex('kb_chunks_collection').on('kb_chunks').columns(['tenant_id', 'collection_id']).execute();
      await dialect.createFullText(db, CHUNKS_FULL_TEXT);

      await db.schema
        .createTable('kb_queries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('question', 'text', (c) => c.notNull())
        .addColumn('collection_ids', jsonType(dialect), (c) => c.notNull())
        .addColumn('chunk_ids', jsonType(dialect), (c) => c.notNull())
        .addColumn('model', 'text')
        .addColumn('latency_ms', 'integer', (c) => c.notNull())
        .addColumn('input_tokens', 'integer', (c) => c.notNull())
        .addColumn('output_tokens', 'integer', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('answer', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('kb_queries_tenant').on('kb_queries').columns(['tenant_id', 'created_at']).execute();
    },
    /**
     * Search joins a full-text match to its chunk by `fts_rowid` (SQLite) and checks the chunk's
     * tenant, collection and document in the same index entry; the access tuples of a
     * collection's documents come from an index alone.
     */
    async '002_knowledge_search_indexes'(db) {
      await db.schema
        .createIndex('kb_chunks_fts_rowid')
        .on('kb_chunks')
        .columns(['fts_rowid', 'tenant_id', 'collection_id', 'document_id'])
        .execute();
      await db.schema
        .createIndex('kb_documents_access')
        .on('kb_documents')
        .columns(['tenant_id', 'collection_id', 'status', 'classification', 'owner', 'department'])
        .execute();
    },
    /**
     * Words are indexed by their stem (`porter unicode61` / `english`): the index is built anew
     * from the chunks of indexed documents, in batches.
     */
    async '003_knowledge_stemmed_full_text'(db, dialect) {
      await dialect.dropFullText(db, CHUNKS_FULL_TEXT);
      await dialect.createFullText(db, CHUNKS_FULL_TEXT);
      for (let after = ''; ; ) {
        const rows = await db
          .selectFrom('kb_chunks as c')
          .innerJoin('kb_documents as d', 'd.id', 'c.document_id')
          .select(['c.id', 'c.tenant_id', 'c.heading_path', 'c.text'])
          .where('d.status', '=', 'indexed')
          .where('c.id', '>', after)
          .orderBy('c.id')
          .limit(500)
          .execute();
        for (const r of rows) {
          const heading_path = fromJson<string[]>(r.heading_path) ?? [];
          await dialect.putFullText(db, CHUNKS_FULL_TEXT, r.tenant_id, r.id, indexedText({ heading_path, text: r.text }));
        }
        if (rows.length < 500) break;
        after = rows[rows.length - 1].id;
      }
    },
    /** Embeddings in the vector index (sqlite-vec; nothing to do without one), existing ones copied in. */
    async '004_knowledge_vector_index'(db, dialect) {
      await db.schema.alterTable('kb_chunks').addColumn('vec_rowid', 'integer').execute();
      await db.schema.alterTable('kb_chunks').addColumn('vec_dims', 'integer').execute();
      await db.schema.createIndex('kb_chunks_vec_rowid').on('kb_chunks').columns(['vec_rowid', 'vec_dims']).execute();
      if (!dialect.vectorIndex) return;
      for (let after = ''; ; ) {
        const rows = await db
          .selectFrom('kb_chunks')
          .select(['id', 'embedding'])
          .where('embedding', 'is not', null)
          .where('id', '>', after)
          .orderBy('id')
          .limit(500)
          .execute();
        for (const r of rows) await dialect.putVector(db, CHUNKS_VECTORS, r.id, JSON.parse(r.embedding ?? '[]') as number[]);
        if (rows.length < 500) break;
        after = rows[rows.length - 1].id;
      }
    },
  },
};
