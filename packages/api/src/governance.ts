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
