import type { ApiKey, ApiKeyWithSecret, CreateApiKey, EnvelopeOf, ListQuery } from '@loam/api';
import { type APIPromise, APIResource, dataOf, path, type RequestOptions } from '../core.js';
import { cursorList, type PagePromise } from '../pagination.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'maxRetries'>;

/** Tenant API keys (`/api/v1/api-keys`; needs `auth:admin`). */
export class ApiKeys extends APIResource {
  /**
   * Creates a key; `key` (the secret) is returned this once.
   * @example const { key } = await loam.apiKeys.create({ name: 'ci', scopes: ['ingest'] });
   */
  create(body: CreateApiKey, options?: Opts): APIPromise<ApiKeyWithSecret> {
    return dataOf(this.client.request<EnvelopeOf<ApiKeyWithSecret>>('POST', '/api/v1/api-keys', { ...options, body }));
  }

  /**
   * Lists keys, newest last, page by page or item by item.
   * @example for await (const key of loam.apiKeys.list()) console.log(key.name, key.prefix);
   */
  list(query: ListQuery = {}): PagePromise<ApiKey> {
    return cursorList(this.client, '/api/v1/api-keys', { ...query });
  }

  /** @example const key = await loam.apiKeys.get('key_01…'); */
  get(id: string, options?: Opts): APIPromise<ApiKey> {
    return dataOf(this.client.request<EnvelopeOf<ApiKey>>('GET', path`/api/v1/api-keys/${id}`, options));
  }

  /** Revokes a key at once. @example await loam.apiKeys.revoke('key_01…'); */
  async revoke(id: string, options?: Opts): Promise<void> {
    await this.client.request('DELETE', path`/api/v1/api-keys/${id}`, options);
  }

  /** Replaces the secret (the old one stops working). @example const { key } = await loam.apiKeys.rotate('key_01…'); */
  rotate(id: string, options?: Opts): APIPromise<ApiKeyWithSecret> {
    return dataOf(this.client.request<EnvelopeOf<ApiKeyWithSecret>>('POST', path`/api/v1/api-keys/${id}/rotate`, options));
  }
}
