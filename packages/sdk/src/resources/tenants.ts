import type { CreateTenant, EnvelopeOf, ListQuery, Tenant, TenantErasure, TenantUsage, UpdateTenant } from '@loam/api';
import { APIResource, dataOf, path, type RequestOptions } from '../core.js';
import { cursorList, type PagePromise } from '../pagination.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'maxRetries'>;

/** Tenants, for platform operators (`/api/v1/admin/tenants`; platform admins only). */
export class Tenants extends APIResource {
  /** @example await loam.tenants.create({ id: 'acme', name: 'Acme', tier: 'standard', quotas: { datasets: 100 } }); */
  create(body: CreateTenant, options?: Opts): Promise<Tenant> {
    return dataOf(this.client.request<EnvelopeOf<Tenant>>('POST', '/api/v1/admin/tenants', { ...options, body }));
  }

  /** @example for await (const t of loam.tenants.list()) console.log(t.id, t.status); */
  list(query: ListQuery = {}): PagePromise<Tenant> {
    return cursorList(this.client, '/api/v1/admin/tenants', { ...query });
  }

  /** @example const tenant = await loam.tenants.get('acme'); */
  get(id: string, options?: Opts): Promise<Tenant> {
    return dataOf(this.client.request<EnvelopeOf<Tenant>>('GET', path`/api/v1/admin/tenants/${id}`, options));
  }

  /** Name, tier, quotas (merged; null lifts one) or status. @example await loam.tenants.update('acme', { status: 'suspended' }); */
  update(id: string, body: UpdateTenant, options?: Opts): Promise<Tenant> {
    return dataOf(this.client.request<EnvelopeOf<Tenant>>('PATCH', path`/api/v1/admin/tenants/${id}`, { ...options, body }));
  }

  /** Starts the erasure job (keys, blobs, rows); poll `loam.jobs.get(job_id)` for its report. @example const { job_id } = await loam.tenants.erase('acme'); */
  erase(id: string, options?: Opts): Promise<TenantErasure> {
    return dataOf(this.client.request<EnvelopeOf<TenantErasure>>('DELETE', path`/api/v1/admin/tenants/${id}`, options));
  }

  /** Requests, tokens and anonymizations per day, and what the tenant holds. @example const u = await loam.tenants.usage('acme', { days: 7 }); */
  usage(id: string, query: { days?: number } = {}, options?: Opts): Promise<TenantUsage> {
    return dataOf(this.client.request<EnvelopeOf<TenantUsage>>('GET', path`/api/v1/admin/tenants/${id}/usage`, { ...options, query }));
  }
}
