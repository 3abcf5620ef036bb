import { type Static, Type } from '@sinclair/typebox';

export const ComplianceFramework = Type.Union([Type.Literal('GDPR'), Type.Literal('HIPAA'), Type.Literal('SOC2')]);
export type ComplianceFramework = Static<typeof ComplianceFramework>;

export const ComplianceReportQuery = Type.Object({
  report_type: Type.Optional(ComplianceFramework),
  dataset_id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' })),
  start_date: Type.Optional(Type.String({ format: 'date-time', description: 'Start of the period (RFC 3339); default 30 days ago' })),
  end_date: Type.Optional(Type.String({ format: 'date-time', description: 'End of the period (RFC 3339); default now' })),
});
export type ComplianceReportQuery = Static<typeof ComplianceReportQuery>;

export const ControlStatus = Type.Union([Type.Literal('pass'), Type.Literal('fail'), Type.Literal('warning')]);
export type ControlStatus = Static<typeof ControlStatus>;

export const ComplianceViolation = Type.Object({
  control: Type.String(),
  resource_type: Type.String(),
  resource_id: Type.String(),
  detail: Type.String(),
});
export type ComplianceViolation = Static<typeof ComplianceViolation>;

export const ComplianceControl = Type.Object({
  id: Type.String(),
  title: Type.String(),
  reference: Type.String({ description: 'The clause of the framework the control answers' }),
  status: ControlStatus,
  evidence: Type.Record(Type.String(), Type.Unknown()),
  remediation: Type.Union([Type.String(), Type.Null()]),
});
export type ComplianceControl = Static<typeof ComplianceControl>;

export const ComplianceReport = Type.Object({
  report_type: ComplianceFramework,
  tenant_id: Type.String(),
  dataset_id: Type.Union([Type.String(), Type.Null()]),
  start_date: Type.String(),
  end_date: Type.String(),
  generated_at: Type.String(),
  status: ControlStatus,
  summary: Type.Object({ pass: Type.Integer(), warning: Type.Integer(), fail: Type.Integer() }),
  controls: Type.Array(ComplianceControl),
  violations: Type.Array(ComplianceViolation),
});
export type ComplianceReport = Static<typeof ComplianceReport>;

export const PolicySubject = Type.Object(
  {
    id: Type.Optional(Type.String({ maxLength: 200 })),
    kind: Type.Optional(Type.Union([Type.Literal('api_key'), Type.Literal('user'), Type.Literal('client')])),
    roles: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50 })),
    scopes: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 100 })),
    attributes: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 1000 }))),
  },
  { additionalProperties: false, description: 'Who asks; absent: the caller itself' },
);

export const EvaluatePolicyRequest = Type.Object(
  {
    subject: Type.Optional(PolicySubject),
    resource: Type.Object(
      {
        type: Type.String({ minLength: 1, maxLength: 64 }),
        id: Type.String({ minLength: 1, maxLength: 200 }),
        attributes: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      },
      { additionalProperties: false },
    ),
    action: Type.String({ minLength: 1, maxLength: 100, description: '`service:verb`, e.g. `datasets:read`' }),
    context: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type EvaluatePolicyRequest = Static<typeof EvaluatePolicyRequest>;

export const PolicyObligation = Type.Object({
  type: Type.String({ description: 'log_access, anonymize_fields, … (a Cedar annotation of a deciding policy)' }),
  value: Type.Union([Type.String(), Type.Null()]),
  policy_id: Type.String(),
});

export const PolicyDecision = Type.Object({
  decision: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
  obligations: Type.Array(PolicyObligation),
  policy_ids: Type.Array(Type.String()),
  reasons: Type.Array(Type.String()),
});
export type PolicyDecision = Static<typeof PolicyDecision>;

export const AnonymizationRequirementsRequest = Type.Object(
  {
    dataset_id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }),
    record_schema: Type.Optional(
      Type.Object(
        {
          fields: Type.Array(
            Type.Object(
              {
                name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' }),
                type: Type.Optional(Type.String({ maxLength: 32 })),
                pii: Type.Optional(Type.Union([Type.Null(), Type.String({ minLength: 1, maxLength: 64 })])),
              },
              { additionalProperties: false },
            ),
            { maxItems: 500 },
          ),
        },
        { additionalProperties: false, description: 'The records about to be written or shared; default the dataset schema' },
      ),
    ),
  },
  { additionalProperties: false },
);
export type AnonymizationRequirementsRequest = Static<typeof AnonymizationRequirementsRequest>;

export const PiiFieldRequirement = Type.Object({
  field: Type.String(),
  pii_type: Type.String({ description: 'email, phone, name, ssn, … (the schema classification or what detection found)' }),
  source: Type.Union([Type.Literal('classification'), Type.Literal('detection'), Type.Literal('field_name')], {
    description: 'classification: declared pii; detection: the privacy engine found it in stored values; field_name: the name says so',
  }),
  technique: Type.String({ description: 'The privacy engine operator the field needs (pseudonymize, mask, generalize, redact, …)' }),
});
export type PiiFieldRequirement = Static<typeof PiiFieldRequirement>;

export const AnonymizationRequirements = Type.Object({
  dataset_id: Type.String(),
  classification: Type.String(),
  required_techniques: Type.Array(Type.String(), { description: 'Operators and controls required before the data is shared' }),
  pii_fields: Type.Array(PiiFieldRequirement),
});
export type AnonymizationRequirements = Static<typeof AnonymizationRequirements>;

export const CatalogQuery = Type.Object({
  query: Type.Optional(
    Type.String({ maxLength: 200, description: 'Matched (case-insensitive) in names, descriptions, tags and schema field names' }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
});
export type CatalogQuery = Static<typeof CatalogQuery>;

export const CatalogVersion = Type.Object({
  id: Type.String(),
  number: Type.Integer(),
  name: Type.Union([Type.String(), Type.Null()]),
  checksum: Type.String(),
  record_count: Type.Integer(),
  schema_version: Type.Integer({
    description: 'Counts schema changes: 1 for the first schema, +1 each time a version finalizes a new one',
  }),
  created_at: Type.String(),
});

export const CatalogEntry = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  tags: Type.Array(Type.String()),
  classification: Type.String(),
  fields: Type.Array(Type.String(), { description: 'Schema field names' }),
  matched: Type.Array(Type.String(), { description: 'Where the query matched: name, description, tags, fields' }),
  record_count: Type.Integer(),
  versions: Type.Array(CatalogVersion, { description: 'Finalized (and deprecated) versions, oldest first' }),
  updated_at: Type.String(),
});
export type CatalogEntry = Static<typeof CatalogEntry>;
