import type { SqlDialect } from '../../../platform/db/index.js';
import type { JsonSql } from '../filter.js';
import { DatasetTable } from './datasets.js';
import { IndexTable } from './indexes.js';
import { LineageTable } from './lineage.js';
import { RecordTable } from './records.js';
import { TransferTables } from './transfers.js';
import { VersionTable } from './versions.js';

export { type DatasetListFilter, type DatasetWithLatest, toDataset } from './datasets.js';
export { type RecordColumns, type RowScope, toRecord } from './records.js';
export { toExport, toImport } from './transfers.js';
export { toVersion } from './versions.js';

/** The datasets module's SQL, one part per table (group): the only code that names its tables. */
export class DatasetStore {
  readonly datasets: DatasetTable;
  readonly versions = new VersionTable();
  readonly records: RecordTable;
  readonly indexes: IndexTable;
  readonly lineage = new LineageTable();
  readonly transfers = new TransferTables();

  constructor(dialect: SqlDialect, json: JsonSql) {
    this.datasets = new DatasetTable(dialect);
    this.records = new RecordTable(dialect, json);
    this.indexes = new IndexTable(dialect);
  }
}
