import { type Static, Type } from '@sinclair/typebox';
import { Timestamp } from './common.js';

const Metadata = Type.Record(Type.String(), Type.Unknown(), { description: 'Free JSON metadata (at most 16 KiB)' });
const Id = Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' });

/** How a collection cuts its documents into chunks. */
export const ChunkingSettings = Type.Object(
  {
    chunk_tokens: Type.Integer({ minimum: 16, maximum: 4096, default: 256 }),
    overlap_tokens: Type.Integer({ minimum: 0, maximum: 1024, default: 32 }),
  },
  { additionalProperties: false },
);
export type ChunkingSettings = Static<typeof ChunkingSettings>;

export const Collection = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.Null(), Type.String()]),
  chunking: ChunkingSettings,
  embedding_model: Type.Union([Type.Null(), Type.String()]),
  store_answers: Type.Boolean(),
  metadata: Metadata,
  document_count: Type.Integer(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Collection = Static<typeof Collection>;

export const CreateCollection = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    chunking: Type.Optional(Type.Partial(ChunkingSettings)),
    embedding_model: Type.Optional(Type.Union([Type.Null(), Type.String({ minLength: 1, maxLength: 200 })])),
    store_answers: Type.Optional(Type.Boolean()),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);
export type CreateCollection = Static<typeof CreateCollection>;

export const UpdateCollection = Type.Partial(CreateCollection, { additionalProperties: false });
export type UpdateCollection = Static<typeof UpdateCollection>;

export const DOCUMENT_STATUSES = ['awaiting_upload', 'uploaded', 'processing', 'indexed', 'failed'] as const;
export const DocumentStatus = Type.Union(DOCUMENT_STATUSES.map((s) => Type.Literal(s)));
export type DocumentStatus = Static<typeof DocumentStatus>;

export const KbDocument = Type.Object({
  id: Type.String(),
  collection_id: Type.String(),
  filename: Type.String(),
  content_type: Type.String(),
  size: Type.Union([Type.Null(), Type.Integer()]),
  status: DocumentStatus,
  error: Type.Union([Type.Null(), Type.String()]),
  content_id: Type.Union([Type.Null(), Type.String()]),
  chunk_count: Type.Integer(),
  metadata: Metadata,
  upload_url: Type.Optional(Type.String()),
  upload_expires_in: Type.Optional(Type.Integer()),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type KbDocument = Static<typeof KbDocument>;

export const CreateDocument = Type.Object(
  {
    collection_id: Id,
    filename: Type.String({ minLength: 1, maxLength: 255 }),
    content_type: Type.String({ minLength: 1, maxLength: 255 }),
    size: Type.Optional(Type.Integer({ minimum: 0 })),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);
export type CreateDocument = Static<typeof CreateDocument>;

export const AddContentItem = Type.Object({ content_id: Id, metadata: Type.Optional(Metadata) }, { additionalProperties: false });
export type AddContentItem = Static<typeof AddContentItem>;

export const DocumentsQuery = Type.Object({
  collection_id: Type.Optional(Id),
  status: Type.Optional(DocumentStatus),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
});
export type DocumentsQuery = Static<typeof DocumentsQuery>;

export const SearchRequest = Type.Object(
  {
    q: Type.String({ minLength: 1, maxLength: 2000 }),
    collection_ids: Type.Array(Id, { minItems: 1, maxItems: 50 }),
    top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
    mode: Type.Optional(Type.Union([Type.Literal('hybrid'), Type.Literal('keyword'), Type.Literal('vector')])),
    filters: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]))),
  },
  { additionalProperties: false },
);
export type SearchRequest = Static<typeof SearchRequest>;

/** `GET /api/v1/search?q=&collection_ids=a,b&top_k=&mode=`. */
export const SearchQuery = Type.Object({
  q: Type.String({ minLength: 1, maxLength: 2000 }),
  collection_ids: Type.String({ minLength: 1, maxLength: 8000 }),
  top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
  mode: Type.Optional(Type.Union([Type.Literal('hybrid'), Type.Literal('keyword'), Type.Literal('vector')])),
});
export type SearchQuery = Static<typeof SearchQuery>;

export const SearchHit = Type.Object({
  chunk_id: Type.String(),
  document_id: Type.String(),
  collection_id: Type.String(),
  filename: Type.String(),
  position: Type.Integer(),
  heading_path: Type.Array(Type.String()),
  page: Type.Union([Type.Null(), Type.Integer()]),
  text: Type.String(),
  score: Type.Number(),
  scores: Type.Object({ keyword: Type.Optional(Type.Number()), vector: Type.Optional(Type.Number()) }),
  highlights: Type.Array(Type.String()),
});
export type SearchHit = Static<typeof SearchHit>;

export const SearchResult = Type.Object({ mode: Type.String(), hits: Type.Array(SearchHit) });
export type SearchResult = Static<typeof SearchResult>;

const UiPart = Type.Object({ type: Type.String(), text: Type.Optional(Type.String()) }, { additionalProperties: true });
const UiMessage = Type.Object(
  {
    id: Type.Optional(Type.String()),
    role: Type.Union([Type.Literal('user'), Type.Literal('assistant'), Type.Literal('system')]),
    content: Type.Optional(Type.String({ maxLength: 100_000 })),
    parts: Type.Optional(Type.Array(UiPart, { maxItems: 200 })),
  },
  { additionalProperties: true },
);

export const QueryRequest = Type.Object(
  {
    question: Type.Optional(Type.String({ minLength: 1, maxLength: 8000 })),
    messages: Type.Optional(Type.Array(UiMessage, { minItems: 1, maxItems: 200 })),
    collection_ids: Type.Array(Id, { minItems: 1, maxItems: 50 }),
    filters: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]))),
    top_k: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 5 })),
    history: Type.Optional(
      Type.Array(
        Type.Object({
          role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
          content: Type.String({ maxLength: 100_000 }),
        }),
        { maxItems: 100 },
      ),
    ),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: true },
);
export type QueryRequest = Static<typeof QueryRequest>;

export const QuerySource = Type.Object({
  number: Type.Integer(),
  chunk_id: Type.String(),
  document_id: Type.String(),
  filename: Type.String(),
  /** The page of the chunk (PDF), when known. */
  page: Type.Optional(Type.Union([Type.Null(), Type.Integer()])),
  text: Type.String(),
  score: Type.Number(),
});
export type QuerySource = Static<typeof QuerySource>;

export const QueryAnswer = Type.Object({
  id: Type.String(),
  answer: Type.String(),
  model: Type.Union([Type.Null(), Type.String()]),
  sources: Type.Array(QuerySource),
  usage: Type.Object({ input_tokens: Type.Integer(), output_tokens: Type.Integer() }),
});
export type QueryAnswer = Static<typeof QueryAnswer>;

export const KbEmbeddingsRequest = Type.Object(
  {
    input: Type.Union([
      Type.String({ maxLength: 100_000 }),
      Type.Array(Type.String({ maxLength: 100_000 }), { minItems: 1, maxItems: 256 }),
    ]),
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type KbEmbeddingsRequest = Static<typeof KbEmbeddingsRequest>;

export const KbEmbeddingsResult = Type.Object({
  model: Type.String(),
  embeddings: Type.Array(Type.Array(Type.Number())),
  usage: Type.Object({ input_tokens: Type.Integer() }),
});
export type KbEmbeddingsResult = Static<typeof KbEmbeddingsResult>;
