import type { AuditEntry, AuditQuery, AuditVerifyResult, EnvelopeOf } from '@loam/api';
import { type APIPromise, APIResource, dataOf, path, type RequestOptions } from '../core.js';
import { cursorList, type PagePromise } from '../pagination.js';

/** The tenant's append-only, hash-chained audit log (`/api/v1/admin/audit-logs`). */
export class AuditLogs extends APIResource {
  /**
   * Lists entries, oldest first, filtered by actor, action (`user.*` for a family), resource, decision or time.
   * @example for await (const e of loam.auditLogs.list({ action: 'access.denied', from: '2026-11-01T00:00:00Z' })) console.log(e.time, e.actor);
   */
  list(query: AuditQuery = {}): PagePromise<AuditEntry> {
    return cursorList(this.client, '/api/v1/admin/audit-logs', { ...query });
  }

  /** One entry. @example const entry = await loam.auditLogs.get('aud_01…'); entry.hash */
  get(id: string, options?: Pick<RequestOptions, 'signal' | 'timeout'>): APIPromise<AuditEntry> {
    return dataOf(this.client.request<EnvelopeOf<AuditEntry>>('GET', path`/api/v1/admin/audit-logs/${id}`, options));
  }

  /**
   * Re-computes the hash chain; `first_broken` names the first tampered entry, if any.
   * @example const { valid, first_broken } = await loam.auditLogs.verify();
   */
  verify(options?: Pick<RequestOptions, 'signal' | 'timeout'>): APIPromise<AuditVerifyResult> {
    return dataOf(this.client.request<EnvelopeOf<AuditVerifyResult>>('POST', '/api/v1/admin/audit-logs/verify', { ...options, body: {} }));
  }
}
