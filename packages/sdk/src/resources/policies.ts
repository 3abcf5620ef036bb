import type { CreatePolicy, EnvelopeOf, ListQuery, Policy, PolicySchema, ReplacePolicy, UpdatePolicy } from '@loam/api';
import { type APIPromise, APIResource, dataOf, path, type RequestOptions } from '../core.js';
import { cursorList, type PagePromise } from '../pagination.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'maxRetries'>;

/** Cedar access policies of the tenant (`/api/v1/admin/policies`). */
export class Policies extends APIResource {
  /**
   * Adds a policy; it is validated against the Cedar schema (a 400 carries Cedar's message).
   * @example
   * await loam.policies.create({
   *   name: 'no-restricted-for-scientists',
   *   policy: 'forbid(principal, action, resource) when { principal.role == "data_scientist" && resource.classification == "restricted" };',
   * });
   */
  create(body: CreatePolicy, options?: Opts): APIPromise<Policy> {
    return dataOf(this.client.request<EnvelopeOf<Policy>>('POST', '/api/v1/admin/policies', { ...options, body }));
  }

  /** @example for await (const p of loam.policies.list()) console.log(p.name, p.effect); */
  list(query: ListQuery = {}): PagePromise<Policy> {
    return cursorList(this.client, '/api/v1/admin/policies', { ...query });
  }

  /** @example const policy = await loam.policies.get('pol_01…'); */
  get(id: string, options?: Opts): APIPromise<Policy> {
    return dataOf(this.client.request<EnvelopeOf<Policy>>('GET', path`/api/v1/admin/policies/${id}`, options));
  }

  /** Changes only the keys given. @example await loam.policies.update('pol_01…', { description: 'reviewed' }); */
  update(id: string, body: UpdatePolicy, options?: Opts): APIPromise<Policy> {
    return dataOf(this.client.request<EnvelopeOf<Policy>>('PATCH', path`/api/v1/admin/policies/${id}`, { ...options, body }));
  }

  /** Replaces the whole policy. @example await loam.policies.replace('pol_01…', { name: 'p', policy: 'permit(principal, action, resource);' }); */
  replace(id: string, body: ReplacePolicy, options?: Opts): APIPromise<Policy> {
    return dataOf(this.client.request<EnvelopeOf<Policy>>('PUT', path`/api/v1/admin/policies/${id}`, { ...options, body }));
  }

  /** @example await loam.policies.delete('pol_01…'); */
  async delete(id: string, options?: Opts): Promise<void> {
    await this.client.request('DELETE', path`/api/v1/admin/policies/${id}`, options);
  }

  /** The Cedar schema policies are checked against, and what each role grants. @example console.log((await loam.policies.schema()).schema); */
  schema(options?: Opts): APIPromise<PolicySchema> {
    return dataOf(this.client.request<EnvelopeOf<PolicySchema>>('GET', '/api/v1/admin/policies/schema', options));
  }
}
