import type { InsertPolicy, SchemaField } from '@loam/api';
import { DecryptionError } from '../../platform/crypto/envelope.js';
import type { Executor } from '../../platform/db/index.js';
import { AppError, type FieldError } from '../../platform/errors.js';
import type { Platform } from '../../platform/index.js';
import type { PlainRecord, ProtectedDataset, RecordProtection, WriteContext } from '../datasets/protection.js';
import { entityTypeOfPii } from './datasets.js';
import { OPERATOR_NAMES, type OperatorConfig } from './operators.js';
import type { PrivacyService } from './service.js';

/** Operators whose output keeps the value's type: every other one turns it into text. */
const TYPE_KEEPING = new Set(['keep', 'suppress']);

/**
 * The privacy engine on the datasets write and read paths (installed into the datasets module by
 * the composition root): anonymize-on-insert policies with the engine's operators, and envelope
 * encryption at rest of the fields a dataset schema classifies as PII (AES-256-GCM under the
 * dataset's data key, associated data `dataset|record|field`).
 */
export class DatasetRecordProtection implements RecordProtection {
  constructor(
    private readonly platform: Platform,
    private readonly privacy: PrivacyService,
  ) {}

  /**
   * A policy names declared schema fields, with known operators, that keep records valid: an
   * operator producing text needs a `string` field; `suppress` (→ null) a field that is not required.
   */
  checkPolicy(policy: InsertPolicy, fields: SchemaField[]): void {
    const byName = new Map(fields.map((f) => [f.name, f]));
    const problems: FieldError[] = [];
    for (const [name, op] of Object.entries(policy.fields ?? {})) {
      const field = `insert_policy.fields.${name}`;
      const f = byName.get(name);
      const type = (op as OperatorConfig | undefined)?.type;
      if (!OPERATOR_NAMES.includes(type as never))
        problems.push({
          field,
          code: 'invalid_value',
          message: `Unknown operator '${String(type)}' (one of ${OPERATOR_NAMES.join(', ')})`,
        });
      else if (!f) problems.push({ field, code: 'unknown_field', message: `'${name}' is not a field of the dataset schema` });
      else if (type === 'suppress' && f.required)
        problems.push({ field, code: 'invalid_value', message: `suppress would empty '${name}', a required field` });
      else if (!TYPE_KEEPING.has(type as string) && f.type !== 'string')
        problems.push({
          field,
          code: 'invalid_type',
          message: `${type} turns values into text but '${name}' is a ${f.type} field: declare it as a string, or use keep or suppress`,
        });
    }
    if (problems.length > 0)
      throw new AppError('validation_error', 400, `Invalid insert_policy: ${problems.map((p) => p.message).join('; ')}`, problems);
  }

  async anonymize(tx: Executor, dataset: ProtectedDataset, records: PlainRecord[], ctx: WriteContext): Promise<Record<string, unknown>[]> {
    const fields = (dataset.policy?.fields ?? {}) as Record<string, OperatorConfig>;
    const types: Record<string, string> = {};
    for (const f of dataset.fields) if (fields[f.name]) types[f.name] = entityTypeOfPii(f.pii) ?? f.name.toUpperCase();
    const out = await this.privacy.anonymizeFields(dataset.tenantId, records, fields, types, tx);
    const ids = records.filter((_, i) => out.changed[i] > 0).map((r) => r.id);
    if (ids.length > 0) {
      // What was done, to which records, with which operators: never values or keys.
      const applied = new Set(records.flatMap((r) => r.only ?? Object.keys(fields)).filter((f) => fields[f] && fields[f].type !== 'keep'));
      await this.platform.events.emit(
        tx,
        'record.anonymized',
        dataset.id,
        {
          dataset_id: dataset.id,
          operation: ctx.operation,
          ...(ctx.importId ? { import_id: ctx.importId } : {}),
          ids,
          count: ids.length,
          values: out.changed.reduce((a, b) => a + b, 0),
          fields: Object.fromEntries([...applied].map((f) => [f, fields[f]])),
        },
        { tenantId: dataset.tenantId, source: `/datasets/${dataset.id}` },
      );
    }
    return out.records;
  }

  async encrypt(tx: Executor, dataset: ProtectedDataset, records: PlainRecord[]): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for (const r of records)
      out.push(await this.privacy.encryptPiiFields(dataset.tenantId, dataset.id, r.id, dataset.encrypted, r.data, tx));
    return out;
  }

  async decrypt(
    db: Executor | undefined,
    tenantId: string,
    datasetId: string,
    encrypted: string[],
    records: { id: string; data: Record<string, unknown> }[],
  ): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    try {
      for (const r of records) out.push(await this.privacy.decryptPiiFields(tenantId, datasetId, r.id, encrypted, r.data, db));
    } catch (err) {
      if (!(err instanceof DecryptionError)) throw err;
      // Stored data that does not decrypt was altered or moved: refuse rather than return it.
      this.platform.log.warn({ tenantId, datasetId, reason: err.message }, 'a dataset record failed to decrypt');
      throw new AppError('record_decryption_failed', 500, `Dataset ${datasetId}: ${err.message}`);
    }
    return out;
  }
}
