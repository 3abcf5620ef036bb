import { type Static, Type } from '@sinclair/typebox';

/** Entity types the built-in recognizers report (tenant recognizers may add their own). */
export const PII_ENTITY_TYPES = [
  'EMAIL_ADDRESS',
  'PHONE_NUMBER',
  'CREDIT_CARD',
  'IBAN_CODE',
  'US_SSN',
  'US_ITIN',
  'US_PASSPORT',
  'US_BANK_NUMBER',
  'UK_NHS',
  'UK_NINO',
  'IP_ADDRESS',
  'MAC_ADDRESS',
  'URL',
  'CRYPTO',
  'DATE_TIME',
  'PERSON',
  'LOCATION',
  'ORGANIZATION',
  'SECRET',
] as const;

const EntityTypeName = Type.String({ pattern: '^[A-Z][A-Z0-9_]{0,63}$', description: 'An entity type, e.g. EMAIL_ADDRESS' });

const AnalyzeInput = {
  text: Type.Optional(Type.String({ maxLength: 10_000_000, description: 'Free text to analyze' })),
  document: Type.Optional(Type.Unknown({ description: 'A JSON document; every string (and number) is analyzed' })),
  records: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: 100_000, description: 'A batch of records' })),
};

export const AnalyzeOptions = Type.Object({
  entities: Type.Optional(Type.Array(EntityTypeName, { maxItems: 100, description: 'Only these types (default: all)' })),
  min_score: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Drop entities scoring below (default 0.4)' })),
  regions: Type.Optional(
    Type.Array(Type.String({ pattern: '^[A-Z]{2}$' }), { maxItems: 20, description: 'Phone regions (default US, GB)' }),
  ),
  ner: Type.Optional(
    Type.Union([Type.Literal('fast'), Type.Literal('full'), Type.Literal('off')], {
      description: 'fast: lexicon and context; full: plus compromise tagger; off',
    }),
  ),
  allow_list: Type.Optional(Type.Array(Type.String({ maxLength: 1000 }), { maxItems: 10_000 })),
  deny_list: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 1000 }), { maxItems: 10_000 })),
  deny_list_type: Type.Optional(EntityTypeName),
  classification: Type.Optional(
    Type.Record(Type.String(), EntityTypeName, { description: 'Field name or JSON path → entity type (a schema’s pii classification)' }),
  ),
  include_text: Type.Optional(Type.Boolean({ description: 'Return the matched text (default false)' })),
});
export type AnalyzeOptions = Static<typeof AnalyzeOptions>;

export const AnalyzeRequest = Type.Intersect([Type.Object(AnalyzeInput), AnalyzeOptions]);
export type AnalyzeRequest = Static<typeof AnalyzeRequest>;

export const DetectedEntity = Type.Object({
  type: Type.String(),
  start: Type.Integer(),
  end: Type.Integer(),
  score: Type.Number(),
  recognizer: Type.String(),
  path: Type.Optional(Type.String({ description: 'JSON path of the string holding the entity' })),
  text: Type.Optional(Type.String()),
});
export type DetectedEntity = Static<typeof DetectedEntity>;

export const AnalyzeResult = Type.Object({
  entities: Type.Array(DetectedEntity),
  counts: Type.Record(Type.String(), Type.Integer()),
});
export type AnalyzeResult = Static<typeof AnalyzeResult>;

export const OperatorName = Type.Union(
  ['replace', 'redact', 'mask', 'hash', 'pseudonymize', 'tokenize', 'encrypt', 'generalize', 'keep', 'suppress'].map((o) =>
    Type.Literal(o),
  ),
);

export const OperatorConfig = Type.Object(
  {
    type: OperatorName,
    new_value: Type.Optional(Type.String({ maxLength: 1000 })),
    masking_char: Type.Optional(Type.String({ minLength: 1, maxLength: 1 })),
    chars_to_mask: Type.Optional(Type.Integer({ minimum: 0 })),
    from_end: Type.Optional(Type.Boolean()),
    keep_last: Type.Optional(Type.Integer({ minimum: 0 })),
    scope: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    granularity: Type.Optional(Type.Union([Type.Literal('month'), Type.Literal('year')])),
    bucket_size: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    prefix_length: Type.Optional(Type.Integer({ minimum: 0, maximum: 20 })),
  },
  { additionalProperties: false },
);
export type OperatorConfig = Static<typeof OperatorConfig>;

export const QuasiIdentifier = Type.Object({
  field: Type.String({ minLength: 1, maxLength: 200 }),
  type: Type.Union([Type.Literal('number'), Type.Literal('date'), Type.Literal('postcode'), Type.Literal('category')]),
  hierarchy: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String(), { maxItems: 20 }))),
});
export type QuasiIdentifier = Static<typeof QuasiIdentifier>;

export const PrivacyModel = Type.Object({
  k: Type.Integer({ minimum: 1, maximum: 10_000 }),
  quasi_identifiers: Type.Array(QuasiIdentifier, { minItems: 1, maxItems: 50 }),
  sensitive: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  l: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  suppression_limit: Type.Optional(
    Type.Number({ minimum: 0, maximum: 1, description: 'Largest share of records suppressed (default 0.05)' }),
  ),
});
export type PrivacyModel = Static<typeof PrivacyModel>;

export const AnonymizeRequest = Type.Intersect([
  Type.Object({
    ...AnalyzeInput,
    operators: Type.Optional(
      Type.Record(Type.String(), OperatorConfig, { description: 'Entity type (or DEFAULT) → operator; default replace with <TYPE>' }),
    ),
    fields: Type.Optional(
      Type.Record(Type.String(), OperatorConfig, { description: 'records: field → operator applied to the whole value' }),
    ),
    privacy_model: Type.Optional(PrivacyModel),
  }),
  AnalyzeOptions,
]);
export type AnonymizeRequest = Static<typeof AnonymizeRequest>;

export const AppliedOperator = Type.Object({
  type: Type.String(),
  operator: Type.String(),
  start: Type.Integer(),
  end: Type.Integer(),
  new_start: Type.Integer(),
  new_end: Type.Integer(),
  path: Type.Optional(Type.String()),
});

export const AnonymizeResult = Type.Object({
  text: Type.Optional(Type.String()),
  document: Type.Optional(Type.Unknown()),
  records: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
  items: Type.Array(AppliedOperator),
  privacy: Type.Optional(Type.Object({ suppressed: Type.Integer(), partitions: Type.Integer(), satisfied: Type.Boolean() })),
});
export type AnonymizeResult = Static<typeof AnonymizeResult>;

export const DeanonymizeRequest = Type.Object({
  text: Type.Optional(Type.String({ maxLength: 10_000_000 })),
  document: Type.Optional(Type.Unknown()),
  records: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: 100_000 })),
});
export type DeanonymizeRequest = Static<typeof DeanonymizeRequest>;

export const DeanonymizeResult = Type.Object({
  text: Type.Optional(Type.String()),
  document: Type.Optional(Type.Unknown()),
  records: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
  restored: Type.Integer({ description: 'Tokens and ciphertexts restored' }),
});
export type DeanonymizeResult = Static<typeof DeanonymizeResult>;

export const ValidateRequest = Type.Object({
  records: Type.Array(Type.Record(Type.String(), Type.Unknown()), { minItems: 1, maxItems: 100_000 }),
  quasi_identifiers: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 50 }),
  k: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'Target k for records_at_risk (default 5)' })),
  sensitive: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  l: Type.Optional(Type.Integer({ minimum: 1 })),
  detect_pii: Type.Optional(Type.Boolean({ description: 'Scan for residual PII (default true)' })),
  min_score: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
});
export type ValidateRequest = Static<typeof ValidateRequest>;

export const ValidateResult = Type.Object({
  records: Type.Integer(),
  equivalence_classes: Type.Integer(),
  k: Type.Integer(),
  k_satisfied: Type.Boolean(),
  l: Type.Union([Type.Null(), Type.Integer()]),
  l_satisfied: Type.Union([Type.Null(), Type.Boolean()]),
  max_risk: Type.Number(),
  average_risk: Type.Number(),
  records_at_risk: Type.Number(),
  smallest_classes: Type.Array(Type.Object({ size: Type.Integer(), values: Type.Record(Type.String(), Type.Unknown()) })),
  residual_pii: Type.Object({
    total: Type.Integer(),
    by_type: Type.Record(Type.String(), Type.Integer()),
    samples: Type.Array(DetectedEntity),
  }),
});
export type ValidateResult = Static<typeof ValidateResult>;

export const AggregateQuery = Type.Object({
  type: Type.Union([Type.Literal('count'), Type.Literal('sum'), Type.Literal('mean'), Type.Literal('histogram')]),
  field: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  lower: Type.Optional(Type.Number()),
  upper: Type.Optional(Type.Number()),
  bins: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  categories: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 1000 })),
  epsilon: Type.Number({ exclusiveMinimum: 0, maximum: 10 }),
});
export type AggregateQuery = Static<typeof AggregateQuery>;

export const AggregateRequest = Type.Object({
  budget: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,128}$', description: 'The ε budget charged (a dataset id for dataset aggregates)' }),
  records: Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: 100_000 }),
  query: AggregateQuery,
});
export type AggregateRequest = Static<typeof AggregateRequest>;

/** The anonymization policy of a dataset run: operators on detected entities, field operators, a privacy model. */
export const AnonymizationPolicy = Type.Intersect([
  Type.Object({
    operators: Type.Optional(Type.Record(Type.String(), OperatorConfig)),
    fields: Type.Optional(Type.Record(Type.String(), OperatorConfig)),
    privacy_model: Type.Optional(PrivacyModel),
  }),
  AnalyzeOptions,
]);
export type AnonymizationPolicy = Static<typeof AnonymizationPolicy>;

export const AnonymizeDatasetRequest = Type.Object({
  policy: AnonymizationPolicy,
  version: Type.Optional(Type.String({ maxLength: 128, description: 'A finalized version id (default: the working draft)' })),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Name of the derived dataset' })),
});
export type AnonymizeDatasetRequest = Static<typeof AnonymizeDatasetRequest>;

export const DatasetAggregateRequest = Type.Object({
  query: AggregateQuery,
  version: Type.Optional(Type.String({ maxLength: 128 })),
});
export type DatasetAggregateRequest = Static<typeof DatasetAggregateRequest>;

export const PrivacyBudget = Type.Object({
  subject: Type.String(),
  epsilon_total: Type.Number(),
  epsilon_spent: Type.Number(),
  epsilon_remaining: Type.Number(),
  updated_at: Type.String(),
});
export type PrivacyBudget = Static<typeof PrivacyBudget>;

export const BudgetParams = Type.Object({ subject: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,128}$' }) });
export type BudgetParams = Static<typeof BudgetParams>;

export const AggregateResult = Type.Object({
  type: Type.String(),
  mechanism: Type.Literal('laplace'),
  epsilon: Type.Number(),
  value: Type.Optional(Type.Number()),
  buckets: Type.Optional(Type.Array(Type.Object({ bucket: Type.String(), count: Type.Number() }))),
  budget: PrivacyBudget,
});
export type AggregateResult = Static<typeof AggregateResult>;

export const SetBudgetRequest = Type.Object({ epsilon_total: Type.Number({ exclusiveMinimum: 0, maximum: 1000 }) });
export type SetBudgetRequest = Static<typeof SetBudgetRequest>;

export const RecognizerPattern = Type.Object({
  regex: Type.String({ minLength: 1, maxLength: 500 }),
  flags: Type.Optional(Type.String({ pattern: '^[imsu]{0,4}$' })),
  score: Type.Number({ minimum: 0, maximum: 1 }),
});

export const CreateRecognizer = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_. -]+$' }),
  entity_type: EntityTypeName,
  patterns: Type.Array(RecognizerPattern, { minItems: 1, maxItems: 20 }),
  context: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 50 }), { maxItems: 50 })),
  enabled: Type.Optional(Type.Boolean()),
});
export type CreateRecognizer = Static<typeof CreateRecognizer>;

export const UpdateRecognizer = Type.Partial(CreateRecognizer);
export type UpdateRecognizer = Static<typeof UpdateRecognizer>;

export const Recognizer = Type.Object({
  id: Type.String(),
  name: Type.String(),
  entity_type: Type.String(),
  patterns: Type.Array(RecognizerPattern),
  context: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  created_at: Type.String(),
  updated_at: Type.String(),
});
export type Recognizer = Static<typeof Recognizer>;

export const TechniqueParameter = Type.Object({
  name: Type.String(),
  type: Type.String(),
  description: Type.String(),
  default: Type.Optional(Type.Unknown()),
});

export const Technique = Type.Object({
  name: Type.String(),
  kind: Type.Union([Type.Literal('operator'), Type.Literal('privacy_model')]),
  description: Type.String(),
  reversible: Type.Boolean(),
  parameters: Type.Array(TechniqueParameter),
});
export type Technique = Static<typeof Technique>;

export const PrivacyMetrics = Type.Object({
  since: Type.String(),
  entities_by_type: Type.Record(Type.String(), Type.Integer()),
  operators: Type.Record(Type.String(), Type.Integer()),
  analyzed_bytes: Type.Integer(),
  analyze_requests: Type.Integer(),
  analyze_mb_per_second: Type.Number(),
  anonymized_records: Type.Integer(),
  anonymize_requests: Type.Integer(),
});
export type PrivacyMetrics = Static<typeof PrivacyMetrics>;

export const KeyRotationResult = Type.Object({ provider: Type.String(), rewrapped: Type.Integer() });
export type KeyRotationResult = Static<typeof KeyRotationResult>;
