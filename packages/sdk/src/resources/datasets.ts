import type {
  AggregateQuery,
  AggregateResult,
  AnalyzeOptions,
  CreateDataset,
  Dataset,
  DatasetIndex,
  DatasetStats,
  EnvelopeOf,
  Job,
  Lineage,
  LineageQuery,
  ListDatasetsQuery,
  OperatorConfig,
  PrivacyModel,
  UpdateDataset,
} from '@loam/api';
import { type APIPromise, APIResource, dataOf, path, type RequestOptions } from '../core.js';
import { cursorList, type PagePromise } from '../pagination.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'maxRetries'>;

/** What an anonymization run does: operators per entity type or per field, an optional privacy model. */
export type DatasetAnonymizationPolicy = {
  operators?: Record<string, OperatorConfig>;
  fields?: Record<string, OperatorConfig>;
  privacy_model?: PrivacyModel;
} & AnalyzeOptions;

/** Private datasets (`/api/v1/datasets`). */
export class Datasets extends APIResource {
  /**
   * @example
   * const ds = await loam.datasets.create({
   *   name: 'customers', classification: 'confidential',
   *   schema: { fields: [{ name: 'email', type: 'string', required: true, pii: 'email' }, { name: 'age', type: 'integer', required: false }] },
   * });
   */
  create(body: CreateDataset, options?: Opts): APIPromise<Dataset> {
    return dataOf(this.client.request<EnvelopeOf<Dataset>>('POST', '/api/v1/datasets', { ...options, body }));
  }

  /** @example for await (const ds of loam.datasets.list({ tag: 'crm' })) console.log(ds.name); */
  list(query: Omit<ListDatasetsQuery, 'cursor'> = {}): PagePromise<Dataset> {
    return cursorList(this.client, '/api/v1/datasets', { ...query });
  }

  /** @example const ds = await loam.datasets.get('ds_01…'); */
  get(id: string, options?: Opts): APIPromise<Dataset> {
    return dataOf(this.client.request<EnvelopeOf<Dataset>>('GET', path`/api/v1/datasets/${id}`, options));
  }

  /** Schema changes that would invalidate records are refused (409 with the count). @example await loam.datasets.update(id, { description: 'CRM export' }); */
  update(id: string, body: UpdateDataset, options?: Opts & { ifMatch?: string }): APIPromise<Dataset> {
    return dataOf(
      this.client.request<EnvelopeOf<Dataset>>('PATCH', path`/api/v1/datasets/${id}`, {
        ...options,
        body,
        headers: { 'if-match': options?.ifMatch },
      }),
    );
  }

  /** @example await loam.datasets.delete('ds_01…'); */
  async delete(id: string, options?: Opts): Promise<void> {
    await this.client.request('DELETE', path`/api/v1/datasets/${id}`, options);
  }

  /** Makes the dataset read-only. @example await loam.datasets.archive('ds_01…'); */
  archive(id: string, options?: Opts): APIPromise<Dataset> {
    return dataOf(this.client.request<EnvelopeOf<Dataset>>('POST', path`/api/v1/datasets/${id}/archive`, { ...options, body: {} }));
  }

  /** Undoes {@link archive}. @example await loam.datasets.restore('ds_01…'); */
  restore(id: string, options?: Opts): APIPromise<Dataset> {
    return dataOf(this.client.request<EnvelopeOf<Dataset>>('POST', path`/api/v1/datasets/${id}/restore`, { ...options, body: {} }));
  }

  /** Record count, bytes and per-field statistics. @example const { record_count } = await loam.datasets.stats('ds_01…'); */
  stats(id: string, options?: Opts): APIPromise<DatasetStats> {
    return dataOf(this.client.request<EnvelopeOf<DatasetStats>>('GET', path`/api/v1/datasets/${id}/stats`, options));
  }

  /** The graph of versions, imports, exports, anonymization runs and the datasets around it. @example const { nodes, edges } = await loam.datasets.lineage('ds_01…', { depth: 2, direction: 'downstream' }); */
  lineage(id: string, query: Omit<LineageQuery, 'format'> = {}, options?: Opts): APIPromise<Lineage> {
    return dataOf(this.client.request<EnvelopeOf<Lineage>>('GET', path`/api/v1/datasets/${id}/lineage`, { ...options, query }));
  }

  /**
   * Starts an anonymization run that writes a derived dataset (a job: poll it with `loam.jobs.wait`).
   * @example const job = await loam.datasets.anonymize('ds_01…', { policy: { fields: { email: { type: 'mask' } } } });
   */
  anonymize(id: string, body: { policy: DatasetAnonymizationPolicy; version?: string; name?: string }, options?: Opts): APIPromise<Job> {
    return dataOf(this.client.request<EnvelopeOf<Job>>('POST', path`/api/v1/datasets/${id}/anonymize`, { ...options, body }));
  }

  /**
   * A differentially private aggregate over a version, charged to the dataset's privacy budget.
   * @example const { value } = await loam.datasets.aggregate('ds_01…', { query: { type: 'count', epsilon: 0.5 } });
   */
  aggregate(id: string, body: { query: AggregateQuery; version?: string }, options?: Opts): APIPromise<AggregateResult> {
    return dataOf(this.client.request<EnvelopeOf<AggregateResult>>('POST', path`/api/v1/datasets/${id}/aggregate`, { ...options, body }));
  }

  /** Indexes a record field for filtered queries. @example await loam.datasets.createIndex('ds_01…', 'category') */
  createIndex(id: string, field: string, options?: Opts): APIPromise<DatasetIndex> {
    return dataOf(
      this.client.request<EnvelopeOf<DatasetIndex>>('POST', path`/api/v1/datasets/${id}/indexes`, { ...options, body: { field } }),
    );
  }

  /** @example const indexes = await loam.datasets.listIndexes('ds_01…') */
  listIndexes(id: string, options?: Opts): APIPromise<DatasetIndex[]> {
    return dataOf(this.client.request<EnvelopeOf<DatasetIndex[]>>('GET', path`/api/v1/datasets/${id}/indexes`, options));
  }

  /** @example await loam.datasets.deleteIndex('ds_01…', 'idx_01…') */
  async deleteIndex(id: string, indexId: string, options?: Opts): Promise<void> {
    await this.client.request('DELETE', path`/api/v1/datasets/${id}/indexes/${indexId}`, options);
  }
}
