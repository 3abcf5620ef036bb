import {
  type AggregateQuery,
  AggregateResult,
  AnonymizeDatasetRequest,
  DatasetAggregateRequest,
  Envelope,
  IdParams,
  Job,
  type SchemaField,
} from '@loam/api';
import type { RequestContext } from '../../platform/context.js';
import type { Tx } from '../../platform/db/index.js';
import { contextOf, sendEnvelope } from '../../platform/http/context.js';
import { AppError } from '../../platform/errors.js';
import type { LoamApp } from '../../platform/http/server.js';
import type { Platform } from '../../platform/index.js';
import type { Principal } from '../../platform/principal.js';
import { validateRecord } from '../datasets/records.js';
import type { DatasetService } from '../datasets/services/datasets.js';
import { toJob } from '../jobs/routes.js';
import { DatasetsPort, type LineageNode } from './datasets-port.js';
import type { PrivacyService } from './service.js';
import type { Row } from './tabular.js';

/**
 * The privacy engine on datasets: anonymization runs that produce a derived dataset (a job,
 * recorded in lineage with the operators and parameters used, never keys), and differentially
 * private aggregates charged to the dataset's ε budget. Uses the datasets module only through
 * its service.
 */

export const ANONYMIZE_DATASET_JOB = 'privacy.anonymize_dataset';
const BATCH = 1000;

/** Dataset schema `pii` kinds → entity types. Unknown kinds are used as entity types as written. */
const PII_KIND_TO_ENTITY: Record<string, string> = {
  email: 'EMAIL_ADDRESS',
  phone: 'PHONE_NUMBER',
  name: 'PERSON',
  person: 'PERSON',
  address: 'LOCATION',
  location: 'LOCATION',
  ssn: 'US_SSN',
  credit_card: 'CREDIT_CARD',
  iban: 'IBAN_CODE',
  ip: 'IP_ADDRESS',
  ip_address: 'IP_ADDRESS',
  date_of_birth: 'DATE_TIME',
  dob: 'DATE_TIME',
  passport: 'US_PASSPORT',
  bank_account: 'US_BANK_NUMBER',
  nhs: 'UK_NHS',
  nino: 'UK_NINO',
  url: 'URL',
  organization: 'ORGANIZATION',
  secret: 'SECRET',
};

/** The entity type a schema `pii` classification names, or undefined for none. */
export function entityTypeOfPii(kind: string | null | undefined): string | undefined {
  if (!kind || kind === 'none') return undefined;
  return PII_KIND_TO_ENTITY[kind.toLowerCase()] ?? kind.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** `classification` for the analyzer from a dataset schema. */
export function classificationOf(fields: SchemaField[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields) {
    const type = entityTypeOfPii(f.pii ?? undefined);
    if (type) out[f.name] = type;
  }
  return out;
}

interface AnonymizeJobPayload {
  principal: Pick<Principal, 'tenantId' | 'subject' | 'kind' | 'roles' | 'scopes'>;
  /** The request that started the run (absent in runs queued before it was recorded). */
  request_id?: string;
  ip?: string;
  dataset_id: string;
  version?: string;
  name?: string;
  run_id: string;
  policy: AnonymizeDatasetRequest['policy'];
}

/** Keeps a schema field only while every output value still has its declared type (the insert validator decides). */
function derivedSchema(fields: SchemaField[], records: Row[]): SchemaField[] {
  return fields.map((f) => ({ ...f, required: false })).filter((f) => records.every((r) => validateRecord([f], r).length === 0));
}

/** The context a queued run acts in: the principal and request that started it. */
const runContext = (p: AnonymizeJobPayload): RequestContext => ({
  tenantId: p.principal.tenantId,
  principal: { ...p.principal },
  requestId: p.request_id ?? p.run_id,
  ip: p.ip ?? '',
});

export class DatasetPrivacy {
  private readonly datasets: DatasetsPort;

  constructor(
    private readonly platform: Platform,
    private readonly privacy: PrivacyService,
    datasets: DatasetService,
  ) {
    this.datasets = new DatasetsPort(datasets);
  }

  register(): void {
    this.platform.jobs.register<AnonymizeJobPayload>(ANONYMIZE_DATASET_JOB, (ctx) => this.runAnonymization(ctx.job.payload), {
      maxAttempts: 3,
      backoffMs: 1000,
    });
  }

  /** Checks access and the policy, then queues the run; the job creates the derived dataset. */
  async startAnonymization(
    ctx: RequestContext,
    datasetId: string,
    input: AnonymizeDatasetRequest,
  ): Promise<{ jobId: string; runId: string }> {
    const { principal } = ctx;
    const ds = await this.datasets.authorizeRead(ctx, datasetId);
    await this.datasets.resolveVersion(ctx, ds, input.version);
    const runId = this.platform.ids.new('anr');
    const payload: AnonymizeJobPayload = {
      request_id: ctx.requestId,
      ip: ctx.ip,
      principal: {
        tenantId: principal.tenantId,
        subject: principal.subject,
        kind: principal.kind,
        roles: principal.roles,
        scopes: principal.scopes,
      },
      dataset_id: datasetId,
      version: input.version,
      name: input.name,
      run_id: runId,
      policy: input.policy,
    };
    const job = await this.platform.transaction((tx) =>
      this.platform.jobs.enqueue(tx, ANONYMIZE_DATASET_JOB, payload, { tenantId: ctx.tenantId }),
    );
    return { jobId: job.id, runId };
  }

  private async runAnonymization(p: AnonymizeJobPayload): Promise<unknown> {
    const ctx = runContext(p);
    const tenantId = ctx.tenantId;
    const ds = await this.datasets.authorizeRead(ctx, p.dataset_id);
    const v = await this.datasets.resolveVersion(ctx, ds, p.version);
    const { fields } = ds;
    const classification = { ...classificationOf(fields), ...(p.policy.classification ?? {}) };
    const source = await this.datasets.readAll(ds, v, BATCH);

    // Operators first, record by record; a privacy model needs the whole table.
    const anonymized: Row[] = [];
    for (let i = 0; i < source.length; i += BATCH) {
      const out = await this.privacy.anonymize(tenantId, {
        ...p.policy,
        privacy_model: undefined,
        classification,
        records: source.slice(i, i + BATCH).map((r) => ({ ...r.data, __id: r.id })),
        fields: { ...(p.policy.fields ?? {}), __id: { type: 'keep' } },
      });
      anonymized.push(...(out.records ?? []));
    }
    let records = anonymized;
    let privacy: { suppressed: number; partitions: number; satisfied: boolean } | undefined;
    if (p.policy.privacy_model) {
      const out = await this.privacy.anonymize(tenantId, {
        records,
        privacy_model: p.policy.privacy_model,
        ner: 'off',
        entities: ['NONE'],
      });
      records = out.records ?? [];
      privacy = out.privacy;
      if (privacy && !privacy.satisfied)
        throw new AppError(
          'privacy_model_unsatisfied',
          422,
          `k-anonymity needs more than the suppression limit: ${privacy.suppressed} records`,
        );
    }

    const derived = await this.datasets.create(ctx, {
      name: p.name ?? `${ds.name} (anonymized)`,
      description: `Anonymized from ${ds.id}${v.id ? ` version ${v.id}` : ''} by run ${p.run_id}`,
      schema: { fields: derivedSchema(fields, records) },
      classification: ds.classification,
      ...(v.id ? { derived_from: { dataset_id: ds.id, version_id: v.id } } : {}),
    });
    for (let i = 0; i < records.length; i += BATCH) {
      const batch = records.slice(i, i + BATCH).map(({ __id, ...data }) => ({ id: String(__id), data }));
      if (batch.length) await this.datasets.insert(ctx, derived.id, batch);
    }
    // Lineage records what was done (operators, parameters, model), never keys or values.
    const attributes = {
      operators: p.policy.operators ?? {},
      fields: p.policy.fields ?? {},
      privacy_model: p.policy.privacy_model ?? null,
      min_score: p.policy.min_score ?? null,
      entities: p.policy.entities ?? null,
      records_in: source.length,
      records_out: records.length,
      suppressed: privacy?.suppressed ?? 0,
      derived_dataset_id: derived.id,
    };
    const node: LineageNode = { id: p.run_id, type: 'anonymization_run', label: `Anonymization ${p.run_id}`, attributes };
    await this.platform.transaction(async (tx: Tx) => {
      await this.datasets.recordLineage(tx, tenantId, ds.id, node, { from: v.id ?? ds.id, to: p.run_id, relation: 'anonymized' });
      await this.datasets.recordLineage(tx, tenantId, derived.id, node, { from: p.run_id, to: derived.id, relation: 'derived' });
      await this.platform.events.emit(
        tx,
        'record.anonymized',
        derived.id,
        {
          run_id: p.run_id,
          source_dataset_id: ds.id,
          source_version_id: v.id,
          dataset_id: derived.id,
          records: records.length,
          suppressed: attributes.suppressed,
        },
        { tenantId, source: `/datasets/${ds.id}` },
      );
    });
    return { run_id: p.run_id, dataset_id: derived.id, records: records.length, suppressed: attributes.suppressed };
  }

  /** A differentially private aggregate over a dataset version, charged to the dataset's budget. */
  async aggregate(ctx: RequestContext, datasetId: string, query: AggregateQuery, version?: string) {
    const ds = await this.datasets.authorizeRead(ctx, datasetId);
    const v = await this.datasets.resolveVersion(ctx, ds, version);
    const rows = (await this.datasets.readAll(ds, v, BATCH)).map((r) => r.data);
    return this.privacy.budgets.aggregate(ctx, ds.id, rows, query);
  }
}

export function datasetPrivacyRoutes(app: LoamApp, platform: Platform, service: DatasetPrivacy): void {
  const tags = ['Anonymization'];
  app.post(
    '/api/v1/datasets/:id/anonymize',
    {
      config: { auth: { scopes: ['anonymization:use', 'datasets:read'] } },
      schema: {
        tags,
        summary: 'Anonymize a dataset version into a new derived dataset (a job)',
        params: IdParams,
        body: AnonymizeDatasetRequest,
        response: { 202: Envelope(Job) },
      },
    },
    async (request, reply) => {
      const ctx = contextOf(request);
      const { jobId, runId } = await service.startAnonymization(ctx, request.params.id, request.body);
      const job = await platform.jobs.get(jobId, ctx.tenantId);
      if (!job) throw new AppError('internal_error', 500, 'The job vanished');
      return sendEnvelope(request, reply, toJob(job), {
        status: 202,
        location: `/api/v1/jobs/${jobId}`,
        links: { job: `/api/v1/jobs/${jobId}`, lineage: `/api/v1/datasets/${request.params.id}/lineage` },
        metadata: { run_id: runId },
      });
    },
  );

  app.post(
    '/api/v1/datasets/:id/aggregate',
    {
      config: { auth: { scopes: ['anonymization:use', 'datasets:read'] } },
      schema: {
        tags,
        summary: 'A differentially private aggregate of a dataset, charged to its ε budget',
        params: IdParams,
        body: DatasetAggregateRequest,
        response: { 200: Envelope(AggregateResult) },
      },
    },
    async (request, reply) =>
      sendEnvelope(
        request,
        reply,
        await service.aggregate(contextOf(request), request.params.id, request.body.query, request.body.version),
      ),
  );
}
