import type { AnonymizationRequirements, AnonymizationRequirementsRequest, PiiFieldRequirement } from '@loam/api';
import { isCiphertext } from '../../platform/crypto/envelope.js';
import { fromJson } from '../../platform/db/index.js';
import type { ComplianceDeps } from './compliance.js';
import type { GovernanceStore } from './store.js';

/** Records sampled for PII detection in fields the schema does not classify. */
const SAMPLE = 50;
const MIN_SCORE = 0.6;

/** The privacy engine's entity types, as schema PII kinds. */
const ENTITY_KIND: Record<string, string> = {
  EMAIL_ADDRESS: 'email',
  PHONE_NUMBER: 'phone',
  PERSON: 'name',
  LOCATION: 'address',
  US_SSN: 'ssn',
  US_ITIN: 'ssn',
  UK_NINO: 'national_id',
  US_PASSPORT: 'passport',
  CREDIT_CARD: 'credit_card',
  IBAN_CODE: 'bank_account',
  US_BANK_NUMBER: 'bank_account',
  IP_ADDRESS: 'ip',
  DATE_TIME: 'date_of_birth',
  UK_NHS: 'health_id',
};

/** Field names that say what they hold (lower case, `_`-separated), checked when nothing else classifies the field. */
const NAME_KIND: [RegExp, string][] = [
  [/(^|_)e?mail(_address)?$/, 'email'],
  [/(^|_)(phone|mobile|tel|telephone)(_number)?$/, 'phone'],
  [/^(first_|last_|full_|given_|family_|sur)?name$/, 'name'],
  [/(^|_)(ssn|social_security(_number)?)$/, 'ssn'],
  [/(^|_)(address|street|postcode|zip(_code)?|postal_code)$/, 'address'],
  [/(^|_)(dob|birth_?date|date_of_birth)$/, 'date_of_birth'],
  [/(^|_)ip(_address)?$/, 'ip'],
  [/(^|_)(credit_card|card_number|pan)$/, 'credit_card'],
  [/(^|_)(iban|account_number)$/, 'bank_account'],
  [/(^|_)(passport)(_number)?$/, 'passport'],
];

/** The operator each kind of PII needs before it leaves the dataset (the privacy engine's operators). */
const KIND_TECHNIQUE: Record<string, string> = {
  email: 'pseudonymize',
  name: 'pseudonymize',
  phone: 'mask',
  ip: 'mask',
  address: 'generalize',
  date_of_birth: 'generalize',
  ssn: 'redact',
  national_id: 'redact',
  passport: 'redact',
  credit_card: 'redact',
  bank_account: 'redact',
  health_id: 'tokenize',
};
/** Quasi-identifiers: with them, restricted data also needs a privacy model (k-anonymity). */
const QUASI = new Set(['address', 'date_of_birth', 'ip']);

interface Field {
  name: string;
  type?: string;
  pii?: string | null;
}

const isPii = (f: Field) => typeof f.pii === 'string' && f.pii !== 'none';

/**
 * What a dataset's records need before they are shared: the PII fields (classified in the schema,
 * found by the privacy engine in stored values, or named like PII) with the operator each needs,
 * and the techniques its classification adds (encryption at rest for confidential and restricted
 * data, k-anonymity for restricted data with quasi-identifiers; public data may not carry PII at
 * all, so every PII field is redacted).
 */
export async function anonymizationRequirements(
  store: GovernanceStore,
  deps: Pick<ComplianceDeps, 'detect'>,
  tenantId: string,
  dataset: { id: string; classification: string; schema: string },
  req: AnonymizationRequirementsRequest,
): Promise<AnonymizationRequirements> {
  const declared = fromJson<{ fields?: Field[] }>(dataset.schema).fields ?? [];
  const byName = new Map<string, Field>(declared.map((f) => [f.name, f]));
  for (const f of req.record_schema?.fields ?? []) byName.set(f.name, { ...byName.get(f.name), ...f });
  const records = (await store.sampleRecords(tenantId, dataset.id, SAMPLE)).map((r) => fromJson<Record<string, unknown>>(r));
  const publicData = dataset.classification === 'public';
  const pii: PiiFieldRequirement[] = [];
  for (const f of byName.values()) {
    let kind: string | undefined;
    let source: PiiFieldRequirement['source'] = 'classification';
    if (isPii(f)) kind = f.pii as string;
    if (!kind && (f.type === undefined || f.type === 'string')) {
      const values = records.map((r) => r[f.name]).filter((v) => typeof v === 'string' && !isCiphertext(v));
      if (values.length > 0) {
        const found = (await deps.detect(tenantId, values.join('\n'))).filter((e) => e.score >= MIN_SCORE);
        const type = found.map((e) => e.type).find((t) => t in ENTITY_KIND) ?? found[0]?.type;
        if (type) [kind, source] = [ENTITY_KIND[type] ?? type.toLowerCase(), 'detection'];
      }
    }
    if (!kind) {
      const named = NAME_KIND.find(([re]) => re.test(f.name.toLowerCase()));
      if (named) [kind, source] = [named[1], 'field_name'];
    }
    if (!kind) continue;
    pii.push({ field: f.name, pii_type: kind, source, technique: publicData ? 'redact' : (KIND_TECHNIQUE[kind] ?? 'pseudonymize') });
  }
  const techniques = new Set(pii.map((p) => p.technique));
  if (pii.length > 0 && (dataset.classification === 'confidential' || dataset.classification === 'restricted')) techniques.add('encrypt');
  if (dataset.classification === 'restricted' && pii.some((p) => QUASI.has(p.pii_type))) techniques.add('k_anonymity');
  return {
    dataset_id: dataset.id,
    classification: dataset.classification,
    required_techniques: [...techniques].sort(),
    pii_fields: pii,
  };
}
