import type {
  ClientCredential,
  ClientCredentialWithSecret,
  CreateCredential,
  CredentialList,
  CredentialListQuery,
  UpdateCredential,
} from '@loam/api';
import { type APIPromise, APIResource, path, type RequestOptions } from '../core.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'maxRetries'>;

/** OAuth client credentials for machines (`/admin/credentials`; needs `auth:admin`). */
export class Credentials extends APIResource {
  /**
   * Creates a credential; `client_secret` is returned this once and stored hashed.
   * @example const cred = await loam.credentials.create({ issued_to: 'ingest-bot', scopes: ['ingest', 'storage'] });
   */
  create(body: CreateCredential, options?: Opts): APIPromise<ClientCredentialWithSecret> {
    return this.client.request('POST', '/admin/credentials', { ...options, body });
  }

  /**
   * Lists credentials (not paginated), optionally filtered.
   * @example const { credentials } = await loam.credentials.list({ scope: 'ingest', active: 'true' });
   */
  list(query: CredentialListQuery = {}, options?: Opts): APIPromise<CredentialList> {
    return this.client.request('GET', '/admin/credentials', { ...options, query });
  }

  /** @example const cred = await loam.credentials.get('cred_01…'); */
  get(id: string, options?: Opts): APIPromise<ClientCredential> {
    return this.client.request('GET', path`/admin/credentials/${id}`, options);
  }

  /**
   * Changes exactly the keys given; `scopes` replaces the list.
   * @example await loam.credentials.update('cred_01…', { active: false });
   */
  update(id: string, body: UpdateCredential, options?: Opts): APIPromise<ClientCredential> {
    return this.client.request('PATCH', path`/admin/credentials/${id}`, { ...options, body });
  }

  /** @example await loam.credentials.delete('cred_01…'); */
  async delete(id: string, options?: Opts): Promise<void> {
    await this.client.request('DELETE', path`/admin/credentials/${id}`, options);
  }
}
