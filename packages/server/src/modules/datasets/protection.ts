import type { DatasetSchema, InsertPolicy, SchemaField } from '@loam/api';
import { type Executor, fromJson } from '../../platform/db/index.js';
import { AppError } from '../../platform/errors.js';
import { type FilterNode, filterFields } from './filter.js';
import { canonicalJson, recordDigest } from './records.js';
import type { DatasetsTable } from './tables.js';

/**
 * The datasets side of the privacy engine's record protection: which fields are encrypted at rest
 * (every schema field with a `pii` classification other than `none`), the anonymize-on-insert
 * policy, and the calls around storage. The work itself (operators, envelope encryption, the
 * `record.anonymized` event) is the privacy module's `RecordProtection` (`privacy/records.ts`),
 * installed by the composition root; without it nothing is encrypted or anonymized.
 *
 * Writes: records are validated as sent, then — in the write transaction, with the locked
 * dataset row's schema and policy — anonymized by the policy and encrypted; the content hash
 * (ETags, version checksums, diffs) is taken over the plaintext, so equal content still hashes
 * equally. Reads decrypt with the schema the rows were written under (the draft's, or the
 * finalized version's): a field's encryption changes only while no live record holds a value
 * for it (schema changes enforce that), so that schema always matches the stored rows.
 */

/** A dataset as the protection sees it. */
export interface ProtectedDataset {
  tenantId: string;
  id: string;
  fields: SchemaField[];
  /** Fields stored encrypted. */
  encrypted: string[];
  policy: InsertPolicy | null;
}

/** A validated plaintext record about to be stored; `only`: the fields the write set (a PATCH). */
export interface PlainRecord {
  id: string;
  data: Record<string, unknown>;
  only?: string[];
}

export interface WriteContext {
  operation: 'insert' | 'update' | 'import';
  importId?: string;
}

/** What the privacy engine provides (see `privacy/records.ts`). */
export interface RecordProtection {
  /** Throws 400 unless `policy` fits `fields`: known operators, declared fields, types kept. */
  checkPolicy(policy: InsertPolicy, fields: SchemaField[]): void;
  /** Applies the policy to copies of the records' data and emits `record.anonymized` in `tx`. */
  anonymize(tx: Executor, dataset: ProtectedDataset, records: PlainRecord[], ctx: WriteContext): Promise<Record<string, unknown>[]>;
  /** Copies of the records' data with the encrypted fields' values sealed (bound to dataset, record, field). */
  encrypt(tx: Executor, dataset: ProtectedDataset, records: PlainRecord[]): Promise<Record<string, unknown>[]>;
  /** The reverse of `encrypt`; a value that does not decrypt is an error (500), never returned as stored. */
  decrypt(
    db: Executor | undefined,
    tenantId: string,
    datasetId: string,
    encrypted: string[],
    records: { id: string; data: Record<string, unknown> }[],
  ): Promise<Record<string, unknown>[]>;
}

/** A record ready to store, with the plaintext it was made from. */
export interface SealedRecord {
  id: string;
  text: string;
  hash: string;
  bytes: number;
  data: Record<string, unknown>;
}

/** Schema fields stored encrypted at rest: a `pii` classification other than `none`. */
export function piiFieldNames(fields: SchemaField[]): string[] {
  return fields.filter((f) => f.pii && f.pii !== 'none').map((f) => f.name);
}

/** What protection reads of a dataset row (as stored). */
type DatasetRow = Pick<DatasetsTable, 'id' | 'tenant_id' | 'schema' | 'insert_policy'>;

const NONE: string[] = [];

export class DatasetProtection {
  private readonly memo = new Map<string, string[]>();

  constructor(private readonly hook?: RecordProtection) {}

  /** The encrypted fields of a schema (its JSON text, as stored, or the object). */
  encrypted(schema: unknown): string[] {
    if (!this.hook) return NONE;
    if (typeof schema !== 'string') return piiFieldNames(fromJson<DatasetSchema>(schema)?.fields ?? []);
    let names = this.memo.get(schema);
    if (!names) {
      names = piiFieldNames(fromJson<DatasetSchema>(schema).fields ?? []);
      if (this.memo.size >= 1000) this.memo.clear();
      this.memo.set(schema, names);
    }
    return names;
  }

  /** Whether writes to this dataset row need `seal` (PII fields or an insert policy). */
  applies(row: DatasetRow): boolean {
    return this.hook !== undefined && (row.insert_policy != null || this.encrypted(row.schema).length > 0);
  }

  checkPolicy(policy: InsertPolicy | null | undefined, fields: SchemaField[]): void {
    if (!policy) return;
    if (!this.hook) throw new AppError('validation_error', 400, 'Insert policies need the privacy engine, which is not enabled');
    this.hook.checkPolicy(policy, fields);
  }

  /**
   * In the write transaction, with the locked dataset row: applies the insert policy, encrypts
   * the PII fields, and returns what to store (hash over the plaintext, text with ciphertexts).
   */
  async seal(tx: Executor, row: DatasetRow, records: PlainRecord[], ctx: WriteContext): Promise<SealedRecord[]> {
    const hook = this.hook;
    if (!hook) throw new Error('no record protection installed');
    const policy = row.insert_policy == null ? null : fromJson<InsertPolicy>(row.insert_policy);
    const dataset: ProtectedDataset = {
      tenantId: row.tenant_id,
      id: row.id,
      fields: fromJson<DatasetSchema>(row.schema).fields ?? [],
      encrypted: this.encrypted(row.schema),
      policy,
    };
    let plain = records.map((r) => r.data);
    if (policy && Object.keys(policy.fields ?? {}).length > 0) plain = await hook.anonymize(tx, dataset, records, ctx);
    const stored =
      dataset.encrypted.length > 0
        ? await hook.encrypt(
            tx,
            dataset,
            records.map((r, i) => ({ id: r.id, data: plain[i] })),
          )
        : plain;
    return records.map((r, i) => {
      const digest = recordDigest(r.id, plain[i]);
      if (stored === plain) return { ...digest, data: plain[i] };
      const text = canonicalJson(stored[i]);
      return { id: r.id, text, hash: digest.hash, bytes: Buffer.byteLength(text), data: plain[i] };
    });
  }

  /**
   * Stored rows (`{id, data, …}`) with the `encrypted` fields of their data decrypted (then an
   * object; `fromJson` reads either); the rows as they are when there is nothing to decrypt.
   */
  async open<R extends { id: string; data: unknown }>(
    db: Executor | undefined,
    tenantId: string,
    datasetId: string,
    encrypted: string[],
    rows: R[],
  ): Promise<Array<Omit<R, 'data'> & { data: unknown }>> {
    if (!this.hook || encrypted.length === 0 || rows.length === 0) return rows;
    const data = await this.hook.decrypt(
      db,
      tenantId,
      datasetId,
      encrypted,
      rows.map((r) => ({ id: r.id, data: fromJson<Record<string, unknown>>(r.data) })),
    );
    return rows.map((r, i) => ({ ...r, data: data[i] }));
  }

  /** 400 when a filter, a sort or an index names an encrypted field: SQL sees only ciphertexts. */
  assertQueryable(encrypted: string[], what: { filter?: FilterNode; sort?: string[] | null; index?: string[] }): void {
    if (encrypted.length === 0) return;
    const hit = (path: string[] | string) => encrypted.includes((Array.isArray(path) ? path : path.split('.'))[0]);
    const refuse = (field: string, name: string, use: string) => {
      const detail = `Field '${name}' is encrypted at rest (its schema pii classification), so it cannot be used in ${use}; filter, sort or index on other fields and read it from the records`;
      return new AppError('encrypted_field', 400, detail, [{ field, code: 'encrypted_field', message: detail }]);
    };
    if (what.filter) for (const p of filterFields(what.filter)) if (hit(p)) throw refuse('filter', p, 'a filter');
    if (what.sort && hit(what.sort)) throw refuse('sort', what.sort.join('.'), 'a sort');
    if (what.index && hit(what.index)) throw refuse('field', what.index.join('.'), 'an index');
  }

  /**
   * Fields whose encryption a schema change would switch (a pii classification added, removed, or
   * the field dropped or added with one).
   */
  switched(before: SchemaField[], after: SchemaField[]): string[] {
    if (!this.hook) return NONE;
    const a = new Set(piiFieldNames(before));
    const b = new Set(piiFieldNames(after));
    return [...[...a].filter((f) => !b.has(f)), ...[...b].filter((f) => !a.has(f))];
  }
}

type FieldStat = {
  name: string;
  type: SchemaField['type'];
  null_count: number;
  distinct_estimate: number;
  min?: number | string | null;
  max?: number | string | null;
  top_values: { value: unknown; count: number }[];
  encrypted: true;
};

/**
 * Statistics of an encrypted field, from its decrypted values (SQL sees only ciphertexts), with
 * the semantics of the SQL path: nulls are missing or null values; distinct and top values count
 * non-null values; min/max over numbers (integer, number) or strings (datetime).
 */
export class FieldStatsAccumulator {
  private nulls = 0;
  private readonly counts = new Map<string, { value: unknown; n: number }>();
  private min: number | string | null = null;
  private max: number | string | null = null;

  constructor(private readonly field: SchemaField) {}

  add(data: Record<string, unknown>): void {
    const v = data[this.field.name];
    if (v === undefined || v === null) {
      this.nulls++;
      return;
    }
    const key = canonicalJson(v);
    const seen = this.counts.get(key);
    if (seen) seen.n++;
    else this.counts.set(key, { value: v, n: 1 });
    const numeric = this.field.type === 'integer' || this.field.type === 'number';
    if ((numeric && typeof v === 'number') || (this.field.type === 'datetime' && typeof v === 'string')) {
      if (this.min === null || v < this.min) this.min = v;
      if (this.max === null || v > this.max) this.max = v;
    }
  }

  result(): FieldStat {
    const f = this.field;
    const ordered = f.type === 'integer' || f.type === 'number' || f.type === 'datetime';
    const top =
      f.type === 'object' || f.type === 'array'
        ? []
        : [...this.counts.entries()]
            .sort((a, b) => b[1].n - a[1].n || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
            .slice(0, 5)
            .map(([, c]) => ({ value: c.value, count: c.n }));
    return {
      name: f.name,
      type: f.type,
      null_count: this.nulls,
      distinct_estimate: this.counts.size,
      ...(ordered ? { min: this.min, max: this.max } : {}),
      top_values: top,
      encrypted: true,
    };
  }
}
