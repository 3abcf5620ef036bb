import { create } from '@bufbuild/protobuf';
import { type AnonymizeRequest, type Dataset, OperatorConfig } from '@loam/api';
import {
  ProcessOptions_Anonymize as Anonymize,
  type ProcessOptions,
  type ProcessRecordsResponse,
  ProcessRecordsResponseSchema,
  type Record as RecordMessage,
} from '@loam/api/grpc';
import { Value } from '@sinclair/typebox/value';
import type { RequestContext } from '../../platform/context.js';
import { AppError, type FieldError } from '../../platform/errors.js';
import type { OperatorConfig as EngineOperator } from '../privacy/operators.js';
import { validateRecord } from '../datasets/records.js';
import { classificationOf, entityTypeOfPii } from '../privacy/datasets.js';
import type { PrivacyService } from '../privacy/service.js';
import { recordData } from './convert.js';

const utf8 = new TextEncoder();

/**
 * ProcessRecords' work on one record, with the REST building blocks: the datasets module's schema
 * validation, the privacy engine's detection (`/privacy/analyze`), its anonymization with named
 * operators (`/privacy/anonymize`) or the dataset's insert policy (what an insert would store).
 */
export class RecordProcessor {
  private readonly operators: Record<string, OperatorConfig>;
  private readonly policyTypes: Record<string, string> = {};

  constructor(
    private readonly privacy: PrivacyService,
    private readonly ctx: RequestContext,
    private readonly dataset: Dataset,
    private readonly options: ProcessOptions,
  ) {
    this.operators = operatorConfigs(options);
    if (options.anonymize === Anonymize.INSERT_POLICY) {
      if (!dataset.insert_policy)
        throw new AppError('no_insert_policy', 422, 'The dataset has no insert policy to anonymize with (PATCH insert_policy first)');
      for (const f of dataset.schema.fields)
        if (dataset.insert_policy.fields[f.name]) this.policyTypes[f.name] = entityTypeOfPii(f.pii) ?? f.name.toUpperCase();
    }
  }

  async process(record: RecordMessage, index: number): Promise<ProcessRecordsResponse> {
    const data = recordData(record.data, index);
    if (typeof data !== 'object' || data === null || Array.isArray(data))
      throw new AppError('validation_error', 400, `record ${index}: data must be an object`, [
        { field: `[${index}].data`, code: 'invalid_type', message: `record ${index}: data must be an object` },
      ]);
    let out = data as Record<string, unknown>;
    const problems = this.options.validate ? validateRecord(this.dataset.schema.fields, out) : [];
    const attributes: Record<string, string> = {};
    let entities: { type: string; path?: string; start: number; end: number; score: number }[] = [];
    if (this.options.detectPii) {
      const found = await this.privacy.analyze(this.ctx.tenantId, { document: out, classification: this.classification() });
      entities = found.entities;
      for (const [type, n] of Object.entries(found.counts)) attributes[`pii.${type}`] = String(n);
    }
    if (this.options.anonymize === Anonymize.OPERATORS) {
      const req: AnonymizeRequest = { document: out, operators: this.operators, classification: this.classification() };
      out = (await this.privacy.anonymize(this.ctx.tenantId, req)).document as Record<string, unknown>;
    } else if (this.options.anonymize === Anonymize.INSERT_POLICY && this.dataset.insert_policy) {
      const fields = this.dataset.insert_policy.fields as Record<string, EngineOperator>;
      out = (await this.privacy.anonymizeFields(this.ctx.tenantId, [{ data: out }], fields, this.policyTypes)).records[0];
    }
    return create(ProcessRecordsResponseSchema, {
      index: BigInt(index),
      record: { id: record.id, data: utf8.encode(JSON.stringify(out)), attributes },
      valid: problems.length === 0,
      problems,
      entities: entities.map((e) => ({ type: e.type, path: e.path ?? '', start: e.start, end: e.end, score: e.score })),
    });
  }

  /** The schema's PII classifications (field → entity type), as the dataset anonymize route passes them. */
  private classification(): Record<string, string> {
    return classificationOf(this.dataset.schema.fields);
  }
}

/** The request's operators checked against the REST schema of an operator (400 naming the bad one). */
function operatorConfigs(options: ProcessOptions): Record<string, OperatorConfig> {
  const out: Record<string, OperatorConfig> = {};
  const problems: FieldError[] = [];
  for (const [entity, op] of Object.entries(options.operators)) {
    const config = Object.fromEntries(
      Object.entries({
        type: op.type,
        new_value: op.newValue,
        masking_char: op.maskingChar,
        chars_to_mask: op.charsToMask,
        from_end: op.fromEnd,
        keep_last: op.keepLast,
      }).filter(([, v]) => v !== undefined),
    );
    const error = Value.Errors(OperatorConfig, config).First();
    if (error)
      problems.push({
        field: `options.operators.${entity}${error.path.replace(/\//g, '.')}`,
        code: 'invalid_value',
        message: error.message,
      });
    else out[entity] = config as OperatorConfig;
  }
  if (problems.length > 0) throw new AppError('validation_error', 400, 'Invalid operators', problems);
  return out;
}
