import type { CreateVersion, DatasetVersion, EnvelopeOf, FinalizeVersion, ListQuery, UpdateVersion, VersionDiff } from '@loam/api';
import { type APIPromise, APIResource, dataOf, path, type RequestOptions } from '../core.js';
import { cursorList, type PagePromise } from '../pagination.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'maxRetries'>;

/** Immutable dataset versions (`/api/v1/datasets/{id}/versions`). */
export class Versions extends APIResource {
  /**
   * Finalizes the current draft into an immutable version (`draft: true`: opens a draft version, see `finalize`).
   * @example const v1 = await loam.versions.create('ds_01…', { name: '2026-11', description: 'November load' });
   */
  create(datasetId: string, body: CreateVersion = {}, options?: Opts): APIPromise<DatasetVersion> {
    return dataOf(
      this.client.request<EnvelopeOf<DatasetVersion>>('POST', path`/api/v1/datasets/${datasetId}/versions`, { ...options, body }),
    );
  }

  /**
   * Finalizes a draft version (one created with `draft: true`): its record count and checksum are fixed.
   * @example const draft = await loam.versions.create(ds, { draft: true }); await loam.records.insert(ds, rows); await loam.versions.finalize(ds, draft.id);
   */
  finalize(datasetId: string, versionId: string, body: FinalizeVersion = {}, options?: Opts): APIPromise<DatasetVersion> {
    return dataOf(
      this.client.request<EnvelopeOf<DatasetVersion>>('POST', path`/api/v1/datasets/${datasetId}/versions/${versionId}/finalize`, {
        ...options,
        body,
      }),
    );
  }

  /** @example for await (const v of loam.versions.list('ds_01…')) console.log(v.name, v.record_count); */
  list(datasetId: string, query: ListQuery = {}): PagePromise<DatasetVersion> {
    return cursorList(this.client, path`/api/v1/datasets/${datasetId}/versions`, { ...query });
  }

  /** @example const v = await loam.versions.get('ds_01…', 'ver_01…'); */
  get(datasetId: string, versionId: string, options?: Opts): APIPromise<DatasetVersion> {
    return dataOf(
      this.client.request<EnvelopeOf<DatasetVersion>>('GET', path`/api/v1/datasets/${datasetId}/versions/${versionId}`, options),
    );
  }

  /** Only the description and tags can change. @example await loam.versions.update(ds, v, { tags: ['golden'] }); */
  update(datasetId: string, versionId: string, body: UpdateVersion, options?: Opts): APIPromise<DatasetVersion> {
    return dataOf(
      this.client.request<EnvelopeOf<DatasetVersion>>('PATCH', path`/api/v1/datasets/${datasetId}/versions/${versionId}`, {
        ...options,
        body,
      }),
    );
  }

  /** Refused (409) while anything derives from the version. @example await loam.versions.delete(ds, v); */
  async delete(datasetId: string, versionId: string, options?: Opts): Promise<void> {
    await this.client.request('DELETE', path`/api/v1/datasets/${datasetId}/versions/${versionId}`, options);
  }

  /** @example await loam.versions.deprecate(ds, v); */
  deprecate(datasetId: string, versionId: string, options?: Opts): APIPromise<DatasetVersion> {
    return dataOf(
      this.client.request<EnvelopeOf<DatasetVersion>>('POST', path`/api/v1/datasets/${datasetId}/versions/${versionId}/deprecate`, {
        ...options,
        body: {},
      }),
    );
  }

  /**
   * Records added, removed and modified between two versions (`fields: true` adds field-level changes).
   * @example const { added, removed } = await loam.versions.diff(ds, v1, v2);
   */
  diff(
    datasetId: string,
    versionId: string,
    otherVersionId: string,
    query: { fields?: boolean; limit?: number; cursor?: string } = {},
    options?: Opts,
  ): APIPromise<VersionDiff> {
    return dataOf(
      this.client.request<EnvelopeOf<VersionDiff>>(
        'GET',
        path`/api/v1/datasets/${datasetId}/versions/${versionId}/diff/${otherVersionId}`,
        {
          ...options,
          query: { ...query },
        },
      ),
    );
  }
}
