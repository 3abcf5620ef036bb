import { type Static, Type } from '@sinclair/typebox';
import { OperatorConfig } from './privacy.js';

/** A field name usable in filters, sorts and projections: identifier segments joined by dots. */
export const FIELD_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,63}$';
export const FIELD_PATH_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,63}(\\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,7}$';
/** Client-supplied record ids: URL-safe, at most 128 characters. */
export const RECORD_ID_PATTERN = '^[A-Za-z0-9_.:-]{1,128}$';
export const MAX_RECORDS_PER_CALL = 10_000;

export const FieldType = Type.Union(
  [
    Type.Literal('string'),
    Type.Literal('integer'),
    Type.Literal('number'),
    Type.Literal('boolean'),
    Type.Literal('datetime'),
    Type.Literal('object'),
    Type.Literal('array'),
  ],
  { description: 'JSON type of the field; datetime is an RFC 3339 string' },
);
export type FieldType = Static<typeof FieldType>;

export const PiiKind = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'PII classification used by the privacy engine: none, email, phone, name, address, ssn, credit_card, ip, date_of_birth, …',
});

export const SchemaField = Type.Object(
  {
    name: Type.String({ pattern: FIELD_NAME_PATTERN }),
    type: FieldType,
    required: Type.Boolean({ default: false }),
    pii: Type.Optional(Type.Union([Type.Null(), PiiKind])),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type SchemaField = Static<typeof SchemaField>;

export const DatasetSchema = Type.Object(
  { fields: Type.Array(SchemaField, { maxItems: 500 }) },
  { additionalProperties: false, description: 'Fields records are validated against; fields not listed are allowed' },
);
export type DatasetSchema = Static<typeof DatasetSchema>;

export const Classification = Type.Union([
  Type.Literal('public'),
  Type.Literal('internal'),
  Type.Literal('confidential'),
  Type.Literal('restricted'),
]);
export type Classification = Static<typeof Classification>;

/**
 * Anonymize-on-insert: schema field → operator (the privacy engine's operators) applied to every
 * value written to that field by inserts, record PATCHes and imports, before it is stored.
 */
export const InsertPolicy = Type.Object(
  {
    fields: Type.Record(Type.String({ pattern: FIELD_NAME_PATTERN }), OperatorConfig, {
      description:
        'Declared schema field → operator. Operators that produce text (all but keep and suppress) need a string field; suppress needs a field that is not required',
    }),
  },
  { additionalProperties: false, description: 'Per-dataset anonymize-on-insert policy (see docs/privacy.md)' },
);
export type InsertPolicy = Static<typeof InsertPolicy>;

const Tags = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 });
const Metadata = Type.Record(Type.String({ maxLength: 100 }), Type.Unknown());

export const Dataset = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.Null(), Type.String()]),
  schema: DatasetSchema,
  metadata: Metadata,
  tags: Type.Array(Type.String()),
  classification: Classification,
  status: Type.Union([Type.Literal('active'), Type.Literal('archived')]),
  owner: Type.Union([Type.Null(), Type.String()]),
  record_count: Type.Integer({ description: 'Records in the working draft' }),
  draft_number: Type.Integer({ description: 'The number the working draft gets when finalized' }),
  latest_version_id: Type.Union([Type.Null(), Type.String()]),
  derived_from: Type.Union([Type.Null(), Type.Object({ dataset_id: Type.String(), version_id: Type.String() })]),
  insert_policy: Type.Union([Type.Null(), InsertPolicy], { description: 'The anonymize-on-insert policy, if any' }),
  encrypted_fields: Type.Array(Type.String(), {
    description: 'Schema fields with a pii classification: stored encrypted at rest, not usable in filters, sorts or indexes',
  }),
  resource_version: Type.Integer(),
  created_at: Type.String(),
  updated_at: Type.String(),
  archived_at: Type.Union([Type.Null(), Type.String()]),
});
export type Dataset = Static<typeof Dataset>;

export const CreateDataset = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    schema: Type.Optional(DatasetSchema),
    metadata: Type.Optional(Metadata),
    tags: Type.Optional(Tags),
    classification: Type.Optional(Classification),
    derived_from: Type.Optional(
      Type.Object(
        { dataset_id: Type.String({ maxLength: 128 }), version_id: Type.String({ maxLength: 128 }) },
        { additionalProperties: false, description: 'A finalized version this dataset is derived from (recorded in lineage)' },
      ),
    ),
    insert_policy: Type.Optional(InsertPolicy),
  },
  { additionalProperties: false },
);
export type CreateDataset = Static<typeof CreateDataset>;

export const UpdateDataset = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 10_000 })])),
    schema: Type.Optional(DatasetSchema),
    metadata: Type.Optional(Metadata),
    tags: Type.Optional(Tags),
    classification: Type.Optional(Classification),
    insert_policy: Type.Optional(Type.Union([Type.Null(), InsertPolicy], { description: 'null removes the policy' })),
  },
  { additionalProperties: false },
);
export type UpdateDataset = Static<typeof UpdateDataset>;

export const ListDatasetsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 1024 })),
  count: Type.Optional(Type.Boolean()),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('archived')])),
  tag: Type.Optional(Type.String({ maxLength: 100 })),
  classification: Type.Optional(Classification),
});
export type ListDatasetsQuery = Static<typeof ListDatasetsQuery>;

export const DatasetParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }) });
export const VersionParams = Type.Object({
  id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }),
  vid: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }),
});
export const DiffParams = Type.Object({
  id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }),
  vid: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }),
  vid2: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }),
});
export const RecordParams = Type.Object({
  id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }),
  rid: Type.String({ pattern: RECORD_ID_PATTERN }),
});
export const SubResourceParams = Type.Object({
  id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }),
  sid: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }),
});

// ---- stats and lineage ----

export const FieldStats = Type.Object({
  name: Type.String(),
  type: Type.Union([Type.Null(), FieldType]),
  null_count: Type.Integer({ description: 'Records where the field is missing or null' }),
  distinct_estimate: Type.Integer(),
  min: Type.Optional(Type.Union([Type.Null(), Type.Number(), Type.String()])),
  max: Type.Optional(Type.Union([Type.Null(), Type.Number(), Type.String()])),
  top_values: Type.Array(Type.Object({ value: Type.Unknown(), count: Type.Integer() })),
  encrypted: Type.Optional(Type.Boolean({ description: 'true: the field is encrypted at rest; computed from decrypted values' })),
});
export const DatasetStats = Type.Object({
  dataset_id: Type.String(),
  version_id: Type.Union([Type.Null(), Type.String()]),
  record_count: Type.Integer(),
  bytes: Type.Integer({ description: 'Size of the records as stored JSON' }),
  fields: Type.Array(FieldStats),
});
export type DatasetStats = Static<typeof DatasetStats>;

export const LineageNode = Type.Object({
  id: Type.String(),
  type: Type.String({ description: 'dataset, version, import, export, anonymization_run, …' }),
  label: Type.String(),
  attributes: Type.Record(Type.String(), Type.Unknown()),
  created_at: Type.String(),
});
export const LineageEdge = Type.Object({ from: Type.String(), to: Type.String(), relation: Type.String() });
export const Lineage = Type.Object({
  dataset_id: Type.String(),
  depth: Type.Integer({ description: 'Dataset hops followed from dataset_id' }),
  direction: Type.String({ description: 'upstream, downstream or both' }),
  datasets: Type.Array(Type.String(), { description: 'The datasets whose graphs are joined (those you may read), the asked one first' }),
  nodes: Type.Array(LineageNode),
  edges: Type.Array(LineageEdge),
});
export const LineageQuery = Type.Object({
  depth: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 10,
      default: 3,
      description: 'Dataset hops to follow (derived datasets, sources); 0 = this dataset only',
    }),
  ),
  direction: Type.Optional(
    Type.Union([Type.Literal('upstream'), Type.Literal('downstream'), Type.Literal('both')], {
      default: 'both',
      description: 'upstream: what it derives from; downstream: what derives from it',
    }),
  ),
  format: Type.Optional(
    Type.Union([Type.Literal('json'), Type.Literal('mermaid')], {
      description: 'mermaid: a Mermaid flowchart (also Accept: text/vnd.mermaid)',
    }),
  ),
});
export type LineageQuery = Static<typeof LineageQuery>;
export type Lineage = Static<typeof Lineage>;
export type LineageNode = Static<typeof LineageNode>;
export type LineageEdge = Static<typeof LineageEdge>;

// ---- versions ----

export const DatasetVersion = Type.Object({
  id: Type.String(),
  dataset_id: Type.String(),
  number: Type.Integer(),
  name: Type.Union([Type.Null(), Type.String()]),
  description: Type.Union([Type.Null(), Type.String()]),
  tags: Type.Array(Type.String()),
  status: Type.Union([Type.Literal('draft'), Type.Literal('finalized'), Type.Literal('deprecated')], {
    description: 'draft: open for records (record_count and checksum are filled in when it is finalized)',
  }),
  record_count: Type.Integer(),
  checksum: Type.String({ description: 'SHA-256 over the sorted record hashes: equal content, equal checksum' }),
  schema: DatasetSchema,
  resource_version: Type.Integer(),
  created_at: Type.String(),
  updated_at: Type.String(),
  deprecated_at: Type.Union([Type.Null(), Type.String()]),
});
export type DatasetVersion = Static<typeof DatasetVersion>;

export const CreateVersion = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    tags: Type.Optional(Tags),
    draft: Type.Optional(
      Type.Boolean({
        description:
          'Create the version as a draft: records written to the dataset land in it until POST …/versions/{vid}/finalize. Default: finalize the working draft at once',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CreateVersion = Static<typeof CreateVersion>;

export const FinalizeVersion = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    tags: Type.Optional(Tags),
  },
  { additionalProperties: false },
);
export type FinalizeVersion = Static<typeof FinalizeVersion>;

export const UpdateVersion = Type.Object(
  { description: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 10_000 })])), tags: Type.Optional(Tags) },
  { additionalProperties: false },
);
export type UpdateVersion = Static<typeof UpdateVersion>;

export const FieldChange = Type.Object({ field: Type.String(), before: Type.Unknown(), after: Type.Unknown() });
export type FieldChange = Static<typeof FieldChange>;
export const VersionDiff = Type.Object({
  from: Type.String(),
  to: Type.String(),
  added: Type.Array(Type.String()),
  removed: Type.Array(Type.String()),
  modified: Type.Array(Type.String()),
  changes: Type.Optional(Type.Record(Type.String(), Type.Array(FieldChange))),
});
export type VersionDiff = Static<typeof VersionDiff>;
export const DiffQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 1024 })),
  fields: Type.Optional(Type.Boolean()),
});

// ---- records ----

export const DatasetRecord = Type.Object({
  id: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown()),
  revision: Type.Integer(),
  created_at: Type.String(),
  updated_at: Type.String(),
});
export type DatasetRecord = Static<typeof DatasetRecord>;

/** A JSON object of any fields (checked against the dataset schema by the server, not here). */
const RecordData = Type.Unsafe<Record<string, unknown>>({ type: 'object', description: 'The record’s fields' });

export const NewRecord = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: RECORD_ID_PATTERN })),
    data: RecordData,
  },
  { additionalProperties: false },
);
export type NewRecord = Static<typeof NewRecord>;
export const InsertRecords = Type.Array(NewRecord, { minItems: 1, maxItems: MAX_RECORDS_PER_CALL });
export const InsertRecordsResult = Type.Object({ inserted: Type.Integer(), ids: Type.Array(Type.String()) });
export type InsertRecordsResult = Static<typeof InsertRecordsResult>;

export const UpdateRecord = Type.Object(
  { data: Type.Record(Type.String(), Type.Unknown(), { description: 'JSON merge patch of the fields: null removes a field' }) },
  { additionalProperties: false },
);
export type UpdateRecord = Static<typeof UpdateRecord>;

/**
 * A record filter: `{field: value}` (equality), `{field: {$op: value}}` with `$eq $ne $gt $gte
 * $lt $lte $in $nin $contains $startsWith $exists $not`, and `$and` / `$or` / `$not` combinators.
 * Fields may be nested (`address.city`).
 */
export const RecordFilter = Type.Record(Type.String(), Type.Unknown(), { description: 'See docs/datasets.md for the filter language' });
export type RecordFilter = Record<string, unknown>;

export const RecordQuery = Type.Object(
  {
    filter: Type.Optional(RecordFilter),
    sort: Type.Optional(Type.String({ maxLength: 600, description: '`field` or `-field`; default `id`' })),
    fields: Type.Optional(Type.Array(Type.String({ pattern: FIELD_PATH_PATTERN }), { maxItems: 100 })),
    version: Type.Optional(Type.String({ maxLength: 128, description: 'A finalized version id; default the working draft' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 4096 })),
    count: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type RecordQuery = Static<typeof RecordQuery>;

export const ListRecordsQuery = Type.Object({
  filter: Type.Optional(Type.String({ maxLength: 16_384, description: 'A JSON record filter' })),
  sort: Type.Optional(Type.String({ maxLength: 600 })),
  fields: Type.Optional(Type.String({ maxLength: 4000, description: 'Comma-separated fields to return' })),
  version: Type.Optional(Type.String({ maxLength: 128 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 4096 })),
  count: Type.Optional(Type.Boolean()),
});
export type ListRecordsQuery = Static<typeof ListRecordsQuery>;

export const GetRecordQuery = Type.Object({ version: Type.Optional(Type.String({ maxLength: 128 })) });

export const CreateIndex = Type.Object({ field: Type.String({ pattern: FIELD_PATH_PATTERN }) }, { additionalProperties: false });
export const DatasetIndex = Type.Object({ id: Type.String(), field: Type.String(), created_at: Type.String() });
export type DatasetIndex = Static<typeof DatasetIndex>;

// ---- import and export ----

export const ExportFormat = Type.Union([Type.Literal('ndjson'), Type.Literal('csv'), Type.Literal('json')]);
export type ExportFormat = 'ndjson' | 'csv' | 'json';
export const CreateExport = Type.Object(
  {
    format: Type.Optional(ExportFormat),
    version: Type.Optional(Type.String({ maxLength: 128 })),
    filter: Type.Optional(RecordFilter),
  },
  { additionalProperties: false },
);
export type CreateExport = Static<typeof CreateExport>;

export const TransferStatus = Type.Union([
  Type.Literal('queued'),
  Type.Literal('running'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
]);
export const DatasetExport = Type.Object({
  id: Type.String(),
  dataset_id: Type.String(),
  version_id: Type.Union([Type.Null(), Type.String()]),
  format: ExportFormat,
  status: TransferStatus,
  record_count: Type.Integer(),
  bytes: Type.Integer(),
  job_id: Type.String(),
  download_url: Type.Union([Type.Null(), Type.String()]),
  error: Type.Union([Type.Null(), Type.String()]),
  created_at: Type.String(),
  finished_at: Type.Union([Type.Null(), Type.String()]),
});
export type DatasetExport = Static<typeof DatasetExport>;

export const ImportQuery = Type.Object({
  format: Type.Optional(Type.Union([Type.Literal('ndjson'), Type.Literal('csv')])),
  id_field: Type.Optional(Type.String({ pattern: FIELD_NAME_PATTERN, description: 'Column/key holding the record id (default `id`)' })),
});
export const DatasetImport = Type.Object({
  id: Type.String(),
  dataset_id: Type.String(),
  format: Type.Union([Type.Literal('ndjson'), Type.Literal('csv')]),
  status: TransferStatus,
  total: Type.Integer({ description: 'Lines in the file (excluding a CSV header and blank lines)' }),
  processed: Type.Integer(),
  failed: Type.Integer(),
  job_id: Type.String(),
  error: Type.Union([Type.Null(), Type.String()]),
  created_at: Type.String(),
  finished_at: Type.Union([Type.Null(), Type.String()]),
});
export type DatasetImport = Static<typeof DatasetImport>;
export const ImportError = Type.Object({
  line: Type.Integer(),
  field: Type.Union([Type.Null(), Type.String()]),
  code: Type.String(),
  message: Type.String(),
});
export type ImportError = Static<typeof ImportError>;
