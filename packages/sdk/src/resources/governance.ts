import type {
  AnalyticsEvent,
  AnalyticsEventsQuery,
  AnonymizationRequirements,
  AnonymizationRequirementsRequest,
  CatalogEntry,
  CatalogQuery,
  CreateAnalyticsEvent,
  ComplianceReport,
  ComplianceReportQuery,
  EnvelopeOf,
  EvaluatePolicyRequest,
  MetricsSummary,
  PolicyDecision,
} from '@loam/api';
import { APIResource, dataOf, type RequestOptions } from '../core.js';
import { cursorList, type PagePromise } from '../pagination.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'maxRetries'>;

/** Governance: compliance reports and policy evaluation. */
export class Governance extends APIResource {
  /** Controls of GDPR, HIPAA or SOC2 with status, evidence and remediation. @example const r = await loam.governance.complianceReport({ report_type: 'GDPR' }); */
  complianceReport(query: ComplianceReportQuery = {}, options?: Opts): Promise<ComplianceReport> {
    return dataOf(this.client.request<EnvelopeOf<ComplianceReport>>('GET', '/api/v1/governance/compliance-report', { ...options, query }));
  }

  /** The decision the access check would make. @example await loam.governance.evaluate({ resource: { type: 'Dataset', id: 'ds_01…' }, action: 'datasets:read' }); */
  evaluate(body: EvaluatePolicyRequest, options?: Opts): Promise<PolicyDecision> {
    return dataOf(this.client.request<EnvelopeOf<PolicyDecision>>('POST', '/api/v1/policies/evaluate', { ...options, body }));
  }

  /** Datasets you may read whose name, description, tags or field names match, with their versions. @example const found = await loam.governance.catalog({ query: 'email' }); */
  catalog(query: CatalogQuery = {}, options?: Opts): Promise<CatalogEntry[]> {
    return dataOf(this.client.request<EnvelopeOf<CatalogEntry[]>>('GET', '/api/v1/catalog/datasets', { ...options, query }));
  }

  /** A dataset's PII fields and the techniques they need. @example const r = await loam.governance.anonymizationRequirements({ dataset_id: 'ds_01…' }); */
  anonymizationRequirements(body: AnonymizationRequirementsRequest, options?: Opts): Promise<AnonymizationRequirements> {
    return dataOf(
      this.client.request<EnvelopeOf<AnonymizationRequirements>>('POST', '/api/v1/policies/anonymization-requirements', {
        ...options,
        body,
      }),
    );
  }

  /** Records a custom analytics event in your tenant. @example await loam.governance.recordEvent({ type: 'quality.score', subject: 'ds_01…', value: 0.97 }); */
  recordEvent(body: CreateAnalyticsEvent, options?: Opts): Promise<AnalyticsEvent> {
    return dataOf(this.client.request<EnvelopeOf<AnalyticsEvent>>('POST', '/api/v1/analytics/events', { ...options, body }));
  }

  /** Your tenant's analytics events by type, subject and time. @example for await (const e of loam.governance.listEvents({ type: 'quality.score' })) console.log(e.value); */
  listEvents(query: AnalyticsEventsQuery = {}): PagePromise<AnalyticsEvent> {
    return cursorList(this.client, '/api/v1/analytics/events', { ...query });
  }

  /** The instance's operational metrics as JSON (platform admins). @example const m = await loam.governance.metrics(); */
  metrics(options?: Opts): Promise<MetricsSummary> {
    return dataOf(this.client.request<EnvelopeOf<MetricsSummary>>('GET', '/api/v1/admin/metrics', options));
  }
}
