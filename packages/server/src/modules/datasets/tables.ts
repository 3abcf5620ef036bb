import type { Classification, ExportFormat } from '@loam/api';
import type { ColumnType, Generated, Selectable } from 'kysely';
import type { EpochMs, JsonText } from '../../platform/db/schema.js';

// The datasets module's tables (migrations.ts), as Kysely sees them.

type TransferStatus = 'queued' | 'running' | 'succeeded' | 'failed';
/** A column with a database default: optional on insert. */
type Defaulted<T> = ColumnType<T, T | undefined, T>;

export interface DatasetsTable {
  id: string;
  tenant_id: string;
  name: string;
  description: string | null;
  /** `{fields: SchemaField[]}` */
  schema: JsonText;
  metadata: JsonText;
  /** string[] */
  tags: JsonText;
  classification: Classification;
  status: 'active' | 'archived';
  owner: string | null;
  /** The number the working draft gets when finalized. */
  draft_number: number;
  record_count: Defaulted<number>;
  /** `{dataset_id, version_id}` */
  derived_from: JsonText | null;
  /** The anonymize-on-insert policy (002_insert_policy). */
  insert_policy: JsonText | null;
  resource_version: number;
  created_at: EpochMs;
  updated_at: EpochMs;
  archived_at: EpochMs | null;
}

export interface DatasetVersionsTable {
  id: string;
  tenant_id: string;
  dataset_id: string;
  number: number;
  name: string | null;
  description: string | null;
  tags: JsonText;
  /** `draft`: the working draft given a version id ahead of its finalization (number = the dataset's draft_number). */
  status: 'draft' | 'finalized' | 'deprecated';
  record_count: number;
  checksum: string;
  schema: JsonText;
  resource_version: number;
  created_at: EpochMs;
  updated_at: EpochMs;
  deprecated_at: EpochMs | null;
}

/** One row version of a record, valid in versions `valid_from` ≤ v < `valid_to` (open while null). */
export interface DatasetRecordsTable {
  row_id: Generated<number>;
  tenant_id: string;
  dataset_id: string;
  id: string;
  valid_from: number;
  valid_to: number | null;
  revision: number;
  data: JsonText;
  hash: string;
  bytes: number;
  created_at: EpochMs;
  updated_at: EpochMs;
}

export interface DatasetIndexesTable {
  id: string;
  tenant_id: string;
  dataset_id: string;
  field: string;
  sql_name: string;
  created_at: EpochMs;
}

export interface DatasetLineageNodesTable {
  tenant_id: string;
  dataset_id: string;
  id: string;
  type: string;
  label: string;
  attributes: JsonText;
  created_at: EpochMs;
}

export interface DatasetLineageEdgesTable {
  tenant_id: string;
  dataset_id: string;
  from_id: string;
  to_id: string;
  relation: string;
  created_at: EpochMs;
}

export interface DatasetImportsTable {
  id: string;
  tenant_id: string;
  dataset_id: string;
  format: 'ndjson' | 'csv';
  id_field: string;
  file: string;
  status: TransferStatus;
  total: number;
  processed: number;
  failed: number;
  byte_offset: number;
  line_offset: number;
  job_id: string;
  error: string | null;
  created_by: string | null;
  created_at: EpochMs;
  finished_at: EpochMs | null;
}

export interface DatasetImportErrorsTable {
  import_id: string;
  line: number;
  seq: number;
  field: string | null;
  code: string;
  message: string;
}

export interface DatasetExportsTable {
  id: string;
  tenant_id: string;
  dataset_id: string;
  version_id: string | null;
  format: ExportFormat;
  filter: JsonText | null;
  status: TransferStatus;
  record_count: number;
  bytes: number;
  file: string | null;
  job_id: string;
  error: string | null;
  created_by: string | null;
  created_at: EpochMs;
  finished_at: EpochMs | null;
}

export type DatasetRow = Selectable<DatasetsTable>;
export type VersionRow = Selectable<DatasetVersionsTable>;
export type RecordRow = Selectable<DatasetRecordsTable>;
export type ImportRow = Selectable<DatasetImportsTable>;
export type ExportRow = Selectable<DatasetExportsTable>;

declare module '../../platform/db/schema.js' {
  interface Database {
    datasets: DatasetsTable;
    dataset_versions: DatasetVersionsTable;
    dataset_records: DatasetRecordsTable;
    dataset_indexes: DatasetIndexesTable;
    dataset_lineage_nodes: DatasetLineageNodesTable;
    dataset_lineage_edges: DatasetLineageEdgesTable;
    dataset_imports: DatasetImportsTable;
    dataset_import_errors: DatasetImportErrorsTable;
    dataset_exports: DatasetExportsTable;
  }
}
