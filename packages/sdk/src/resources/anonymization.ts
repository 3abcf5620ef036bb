import type {
  AggregateRequest,
  AggregateResult,
  AnalyzeRequest,
  AnalyzeResult,
  AnonymizeRequest,
  AnonymizeResult,
  CreateRecognizer,
  DeanonymizeRequest,
  DeanonymizeResult,
  EnvelopeOf,
  PrivacyBudget,
  PrivacyMetrics,
  Recognizer,
  Technique,
  UpdateRecognizer,
  ValidateRequest,
  ValidateResult,
} from '@loam/api';
import { type APIPromise, APIResource, dataOf, path, type RequestOptions } from '../core.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'maxRetries'>;

/** PII detection, anonymization and privacy models (`/api/v1/anonymization/*`). */
export class Anonymization extends APIResource {
  /**
   * Finds PII in text, a JSON document or records.
   * @example const { entities } = await loam.anonymization.analyze({ text: 'Mail ada@example.com or call +44 20 7946 0958' });
   */
  analyze(body: AnalyzeRequest, options?: Opts): APIPromise<AnalyzeResult> {
    return this.post('/analyze', body, options);
  }

  /**
   * Replaces, masks, hashes, pseudonymizes, tokenizes, encrypts or generalizes the PII found
   * (default: replace with `<TYPE>`); records can also be k-anonymized with `privacy_model`.
   * @example const { text } = await loam.anonymization.anonymize({ text, operators: { EMAIL_ADDRESS: { type: 'mask', keep_last: 4 } } });
   */
  anonymize(body: AnonymizeRequest, options?: Opts): APIPromise<AnonymizeResult> {
    return this.post('/anonymize', body, options);
  }

  /** Restores tokenized and encrypted values (needs its own scope; audited). @example const { text } = await loam.anonymization.deanonymize({ text: anonymized }); */
  deanonymize(body: DeanonymizeRequest, options?: Opts): APIPromise<DeanonymizeResult> {
    return this.post('/deanonymize', body, options);
  }

  /**
   * Measures k-anonymity, ℓ-diversity, re-identification risk and residual PII of a table.
   * @example const report = await loam.anonymization.validate({ records, quasi_identifiers: ['zip', 'age'], sensitive: 'diagnosis', k: 5 });
   */
  validate(body: ValidateRequest, options?: Opts): APIPromise<ValidateResult> {
    return this.post('/validate', body, options);
  }

  /** Every operator and privacy model with its parameters. @example for (const t of await loam.anonymization.techniques()) console.log(t.name); */
  techniques(options?: Opts): APIPromise<Technique[]> {
    return dataOf(this.client.request<EnvelopeOf<Technique[]>>('GET', '/api/v1/anonymization/techniques', options));
  }

  /**
   * A differentially private count, sum, mean or histogram, charged to an ε budget.
   * @example const { value } = await loam.anonymization.aggregate({ budget: 'ds_01…', records, query: { type: 'count', epsilon: 0.5 } });
   */
  aggregate(body: AggregateRequest, options?: Opts): APIPromise<AggregateResult> {
    return this.post('/aggregate', body, options);
  }

  /** An ε budget. @example const { epsilon_remaining } = await loam.anonymization.budget('ds_01…'); */
  budget(subject: string, options?: Opts): APIPromise<PrivacyBudget> {
    return dataOf(this.client.request<EnvelopeOf<PrivacyBudget>>('GET', path`/api/v1/anonymization/budgets/${subject}`, options));
  }

  /** Sets the total ε of a budget. @example await loam.anonymization.setBudget('ds_01…', 2); */
  setBudget(subject: string, epsilonTotal: number, options?: Opts): APIPromise<PrivacyBudget> {
    return dataOf(
      this.client.request<EnvelopeOf<PrivacyBudget>>('PUT', path`/api/v1/anonymization/budgets/${subject}`, {
        ...options,
        body: { epsilon_total: epsilonTotal },
      }),
    );
  }

  /** Entities found by type, operator use and throughput. @example const m = await loam.anonymization.metrics(); */
  metrics(options?: Opts): APIPromise<PrivacyMetrics> {
    return dataOf(this.client.request<EnvelopeOf<PrivacyMetrics>>('GET', '/api/v1/anonymization/metrics', options));
  }

  /** Tenant-defined recognizers (regex + context + score). */
  readonly recognizers = {
    /** @example const all = await loam.anonymization.recognizers.list(); */
    list: (options?: Opts): Promise<Recognizer[]> =>
      dataOf(this.client.request<EnvelopeOf<Recognizer[]>>('GET', '/api/v1/anonymization/recognizers', options)),
    /** @example await loam.anonymization.recognizers.create({ name: 'employee-id', entity_type: 'EMPLOYEE_ID', patterns: [{ regex: 'E-\\d{6}', score: 0.8 }] }); */
    create: (body: CreateRecognizer, options?: Opts): Promise<Recognizer> =>
      dataOf(this.client.request<EnvelopeOf<Recognizer>>('POST', '/api/v1/anonymization/recognizers', { ...options, body })),
    /** @example const r = await loam.anonymization.recognizers.get('rcg_01…'); */
    get: (id: string, options?: Opts): Promise<Recognizer> =>
      dataOf(this.client.request<EnvelopeOf<Recognizer>>('GET', path`/api/v1/anonymization/recognizers/${id}`, options)),
    /** @example await loam.anonymization.recognizers.update('rcg_01…', { score: 0.9 }); */
    update: (id: string, body: UpdateRecognizer, options?: Opts): Promise<Recognizer> =>
      dataOf(this.client.request<EnvelopeOf<Recognizer>>('PATCH', path`/api/v1/anonymization/recognizers/${id}`, { ...options, body })),
    /** @example await loam.anonymization.recognizers.delete('rcg_01…'); */
    delete: async (id: string, options?: Opts): Promise<void> => {
      await this.client.request('DELETE', path`/api/v1/anonymization/recognizers/${id}`, options);
    },
  };

  private post<T>(sub: string, body: unknown, options?: Opts): APIPromise<T> {
    return dataOf(this.client.request<EnvelopeOf<T>>('POST', `/api/v1/anonymization${sub}`, { ...options, body }));
  }
}
