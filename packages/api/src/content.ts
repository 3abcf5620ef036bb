import { type Static, Type } from '@sinclair/typebox';

/** Atriumn ingest service (camelCase JSON, ContentItem bare). */

export type ContentStatus = 'UPLOADING' | 'PENDING' | 'PROCESSING' | 'COMPLETED' | 'ERROR';
export type ContentSourceType = 'TEXT' | 'URL' | 'FILE';

/** `{string: string}`; on PATCH a key whose value is `""` is removed. */
export const ContentMetadata = Type.Record(Type.String({ maxLength: 256 }), Type.String({ maxLength: 10_000 }), {
  maxProperties: 100,
});
export type ContentMetadata = Static<typeof ContentMetadata>;

const TenantField = Type.Optional(Type.String({ maxLength: 128 }));
const UserField = Type.Optional(Type.String({ maxLength: 256 }));
const Url = Type.String({ minLength: 1, maxLength: 100_000 });

export const ContentItem = Type.Object({
  id: Type.String(),
  tenantId: Type.String(),
  userId: Type.String(),
  sourceType: Type.String({ description: 'TEXT, URL or FILE' }),
  sourceUri: Type.String(),
  s3Key: Type.String(),
  s3Bucket: Type.String(),
  status: Type.String({ description: 'UPLOADING, PENDING, PROCESSING, COMPLETED or ERROR' }),
  contentType: Type.String(),
  size: Type.Integer(),
  metadata: Type.Record(Type.String(), Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  error: Type.Optional(Type.String()),
  title: Type.Optional(Type.String()),
  wordCount: Type.Optional(Type.Integer()),
  language: Type.Optional(Type.String({ description: 'ISO 639-1 code, when detectable' })),
  pageCount: Type.Optional(Type.Integer()),
  detectedType: Type.Optional(Type.String({ description: 'pdf, docx, html, markdown, csv, json, text or image' })),
  warning: Type.Optional(Type.String({ description: 'Why the extracted text is empty or incomplete (a scanned PDF, an empty file, …)' })),
  sourceSubType: Type.Optional(Type.String()),
  userNotes: Type.Optional(Type.String()),
  callbackUrl: Type.Optional(Type.String()),
  processedAt: Type.Optional(Type.String()),
});
export type ContentItem = Static<typeof ContentItem>;

export const IngestResponse = Type.Object({
  id: Type.String(),
  status: Type.String(),
  tenantId: Type.String(),
  userId: Type.String(),
  timestamp: Type.String(),
  size: Type.Optional(Type.Integer()),
  uploadUrl: Type.Optional(Type.String()),
  s3Key: Type.Optional(Type.String()),
});
export type IngestResponse = Static<typeof IngestResponse>;

/** `/ingest/text`: with `content` the text is inline; without it, an upload URL is returned. */
export const IngestTextRequest = Type.Object({
  content: Type.Optional(Type.String()),
  tenantId: TenantField,
  userId: UserField,
  contentType: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  metadata: Type.Optional(ContentMetadata),
  callbackUrl: Type.Optional(Url),
});
export type IngestTextRequest = Static<typeof IngestTextRequest>;

export const IngestUrlRequest = Type.Object({
  url: Url,
  tenantId: TenantField,
  userId: UserField,
  sourceSubType: Type.Optional(Type.String({ maxLength: 100 })),
  metadata: Type.Optional(ContentMetadata),
  userNotes: Type.Optional(Type.String({ maxLength: 10_000 })),
  callbackUrl: Type.Optional(Url),
});
export type IngestUrlRequest = Static<typeof IngestUrlRequest>;

/** `/ingest/file` as JSON: an upload request (the multipart form carries the file itself). */
export const IngestFileRequest = Type.Object({
  filename: Type.String({ minLength: 1, maxLength: 255 }),
  contentType: Type.String({ minLength: 1, maxLength: 255 }),
  tenantId: TenantField,
  userId: UserField,
  metadata: Type.Optional(ContentMetadata),
  callbackUrl: Type.Optional(Url),
});
export type IngestFileRequest = Static<typeof IngestFileRequest>;

export const BatchIngestItem = Type.Object({
  type: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('url'), Type.Literal('TEXT'), Type.Literal('URL')])),
  content: Type.Optional(Type.String()),
  url: Type.Optional(Url),
  userId: UserField,
  metadata: Type.Optional(ContentMetadata),
  sourceSubType: Type.Optional(Type.String({ maxLength: 100 })),
  userNotes: Type.Optional(Type.String({ maxLength: 10_000 })),
  callbackUrl: Type.Optional(Url),
});
export type BatchIngestItem = Static<typeof BatchIngestItem>;

export const BatchIngestRequest = Type.Object({
  items: Type.Array(BatchIngestItem, { minItems: 1, maxItems: 100 }),
  tenantId: TenantField,
});
export type BatchIngestRequest = Static<typeof BatchIngestRequest>;

export const BatchIngestResult = Type.Object({
  index: Type.Integer(),
  id: Type.Optional(Type.String()),
  status: Type.Optional(Type.String()),
  error: Type.Optional(Type.String()),
  error_description: Type.Optional(Type.String()),
});
export const BatchIngestResponse = Type.Object({
  results: Type.Array(BatchIngestResult),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
});
export type BatchIngestResponse = Static<typeof BatchIngestResponse>;

export const ContentListQuery = Type.Object({
  status: Type.Optional(Type.String({ maxLength: 32 })),
  sourceType: Type.Optional(Type.String({ maxLength: 32 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  nextToken: Type.Optional(Type.String({ maxLength: 1024 })),
  tenantId: TenantField,
});
export type ContentListQuery = Static<typeof ContentListQuery>;

/** The Atriumn ingest routes' optional tenant (honoured as `effectiveTenant` allows). */
export const ContentTenantQuery = Type.Object({ tenantId: Type.Optional(Type.String({ maxLength: 128 })) });
export type ContentTenantQuery = Static<typeof ContentTenantQuery>;

export const ContentList = Type.Object({
  items: Type.Array(ContentItem),
  nextToken: Type.String({ description: '`""` on the last page' }),
});
export type ContentList = Static<typeof ContentList>;

export const UpdateContentRequest = Type.Object({
  sourceUri: Type.Optional(Type.String({ maxLength: 100_000 })),
  metadata: Type.Optional(ContentMetadata),
});
export type UpdateContentRequest = Static<typeof UpdateContentRequest>;

export const ContentText = Type.Object({ content: Type.String() });
export type ContentText = Static<typeof ContentText>;

export const ContentDownloadUrl = Type.Object({ downloadUrl: Type.String(), expiresIn: Type.Optional(Type.Integer()) });

/** `/api/v1/content/stats`. */
export const ContentStats = Type.Object({
  total: Type.Integer(),
  by_status: Type.Record(Type.String(), Type.Integer()),
  by_source_type: Type.Record(Type.String(), Type.Integer()),
  stored_bytes: Type.Integer(),
});
export type ContentStats = Static<typeof ContentStats>;

export const ContentSearchHit = Type.Object({
  id: Type.String(),
  title: Type.Union([Type.Null(), Type.String()]),
  snippet: Type.String(),
  score: Type.Number(),
});
export type ContentSearchHit = Static<typeof ContentSearchHit>;

export const ContentSearchQuery = Type.Object({
  q: Type.String({ minLength: 1, maxLength: 500 }),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
});
export type ContentSearchQuery = Static<typeof ContentSearchQuery>;

export const CallbackSecret = Type.Object({
  secret: Type.String({ description: 'HMAC-SHA256 key of the X-Loam-Signature header on callbacks' }),
});

/** The body of the POST sent to a `callbackUrl`. */
export interface ContentCallback {
  type: 'content.processed' | 'content.failed';
  id: string;
  tenantId: string;
  status: ContentStatus;
  error?: string;
  timestamp: string;
}
