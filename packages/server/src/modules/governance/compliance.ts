import type { ComplianceControl, ComplianceFramework, ComplianceReport, ComplianceViolation, ControlStatus } from '@loam/api';
import { isCiphertext } from '../../platform/crypto/envelope.js';
import { fromJson } from '../../platform/db/index.js';
import { rfc3339 } from '../../platform/http/context.js';
import type { GovernanceStore } from './store.js';

/** What compliance checks need of the other modules. */
export interface ComplianceDeps {
  /** PII entities in `text` (the privacy engine). */
  detect(tenantId: string, text: string): Promise<{ type: string; score: number }[]>;
  /** Whether the tenant's audit hash chain verifies. */
  verifyAudit(tenantId: string): Promise<{ valid: boolean; checked: number; first_broken?: { id: string; seq: number } }>;
}

const DAY = 86_400_000;
/** Data keys older than this (never rotated) are flagged. */
export const KEY_MAX_AGE_DAYS = 365;
/** Records sampled per dataset for PII in unclassified fields. */
const SAMPLE = 50;
const MIN_SCORE = 0.6;

/** Each control, and the clause of each framework it answers. */
const CONTROLS: { id: string; title: string; refs: Record<ComplianceFramework, string> }[] = [
  {
    id: 'pii_encrypted',
    title: 'PII fields are classified and encrypted at rest',
    refs: { GDPR: 'Art. 32(1)(a)', HIPAA: '§164.312(a)(2)(iv)', SOC2: 'CC6.1' },
  },
  { id: 'access_logged', title: 'Access to data is logged', refs: { GDPR: 'Art. 30', HIPAA: '§164.312(b)', SOC2: 'CC7.2' } },
  { id: 'audit_chain', title: 'The audit log hash chain verifies', refs: { GDPR: 'Art. 5(2)', HIPAA: '§164.312(c)(1)', SOC2: 'CC7.2' } },
  { id: 'retention', title: 'Retention is configured', refs: { GDPR: 'Art. 5(1)(e)', HIPAA: '§164.316(b)(2)', SOC2: 'C1.2' } },
  {
    id: 'anonymized_exports',
    title: 'Anonymization is applied before export',
    refs: { GDPR: 'Art. 25', HIPAA: '§164.514(b)', SOC2: 'P4.1' },
  },
  { id: 'dp_budget', title: 'Differential-privacy budgets are respected', refs: { GDPR: 'Art. 25', HIPAA: '§164.514(b)', SOC2: 'P4.1' } },
  {
    id: 'key_rotation',
    title: `Data keys are rotated within ${KEY_MAX_AGE_DAYS} days`,
    refs: { GDPR: 'Art. 32', HIPAA: '§164.312(a)(2)(iv)', SOC2: 'CC6.1' },
  },
  { id: 'least_privilege', title: 'Access follows least privilege', refs: { GDPR: 'Art. 25(2)', HIPAA: '§164.308(a)(4)', SOC2: 'CC6.3' } },
];

interface Check {
  status: ControlStatus;
  evidence: Record<string, unknown>;
  remediation: string | null;
  violations?: Omit<ComplianceViolation, 'control'>[];
}

interface SchemaField {
  name: string;
  type: string;
  pii?: string | null;
}

const isPii = (f: SchemaField) => typeof f.pii === 'string' && f.pii !== 'none';

/** Builds the report of one framework over the tenant's data (or one dataset) for a period. */
export async function complianceReport(
  store: GovernanceStore,
  deps: ComplianceDeps,
  opts: { tenantId: string; framework: ComplianceFramework; datasetId?: string; from: number; to: number; now: number },
): Promise<ComplianceReport> {
  const { tenantId, from, to, now } = opts;
  const datasets = await store.datasets(tenantId, opts.datasetId);
  const checks: Record<string, Check> = {
    pii_encrypted: await piiEncrypted(store, deps, tenantId, datasets),
    access_logged: await accessLogged(store, tenantId, from, to),
    audit_chain: await auditChain(deps, tenantId),
    retention: await retention(store, tenantId),
    anonymized_exports: await anonymizedExports(store, tenantId, datasets, from, to),
    dp_budget: await dpBudget(store, tenantId),
    key_rotation: await keyRotation(store, tenantId, now),
    least_privilege: await leastPrivilege(store, tenantId),
  };
  const controls: ComplianceControl[] = CONTROLS.map((c) => ({
    id: c.id,
    title: c.title,
    reference: `${opts.framework} ${c.refs[opts.framework]}`,
    status: checks[c.id].status,
    evidence: checks[c.id].evidence,
    remediation: checks[c.id].status === 'pass' ? null : checks[c.id].remediation,
  }));
  const violations = CONTROLS.flatMap((c) => (checks[c.id].violations ?? []).map((v) => ({ control: c.id, ...v })));
  const summary = { pass: 0, warning: 0, fail: 0 };
  for (const c of controls) summary[c.status]++;
  return {
    report_type: opts.framework,
    tenant_id: tenantId,
    dataset_id: opts.datasetId ?? null,
    start_date: rfc3339(from),
    end_date: rfc3339(to),
    generated_at: rfc3339(now),
    status: summary.fail > 0 ? 'fail' : summary.warning > 0 ? 'warning' : 'pass',
    summary,
    controls,
    violations,
  };
}

type DatasetRow = Awaited<ReturnType<GovernanceStore['datasets']>>[number];

/**
 * Fields classified as PII must hold ciphertext; unclassified string fields must hold no PII the
 * privacy engine detects (sampled from the newest records).
 */
async function piiEncrypted(store: GovernanceStore, deps: ComplianceDeps, tenantId: string, datasets: DatasetRow[]): Promise<Check> {
  const violations: Check['violations'] = [];
  let classified = 0;
  let sampled = 0;
  for (const ds of datasets) {
    const fields = fromJson<{ fields?: SchemaField[] }>(ds.schema).fields ?? [];
    classified += fields.filter(isPii).length;
    const records = (await store.sampleRecords(tenantId, ds.id, SAMPLE)).map((r) => fromJson<Record<string, unknown>>(r));
    sampled += records.length;
    for (const f of fields) {
      const values = records.map((r) => r[f.name]).filter((v) => v !== undefined && v !== null);
      if (isPii(f)) {
        const clear = values.filter((v) => !isCiphertext(v)).length;
        if (clear > 0)
          violations.push({
            resource_type: 'Dataset',
            resource_id: ds.id,
            detail: `field ${f.name} is classified ${f.pii} but ${clear} sampled value(s) are stored in clear`,
          });
      } else if (f.type === 'string' && values.length > 0) {
        const found = await deps.detect(tenantId, values.map(String).join('\n'));
        const types = [...new Set(found.filter((e) => e.score >= MIN_SCORE).map((e) => e.type))];
        if (types.length > 0)
          violations.push({
            resource_type: 'Dataset',
            resource_id: ds.id,
            detail: `field ${f.name} holds unencrypted PII (${types.join(', ')}) but is not classified as PII`,
          });
      }
    }
  }
  return {
    status: violations.length > 0 ? 'fail' : 'pass',
    evidence: {
      datasets_checked: datasets.length,
      pii_fields_classified: classified,
      records_sampled: sampled,
      violations: violations.length,
    },
    remediation:
      'Classify each field holding personal data with its PII kind (schema field `pii`, e.g. "email") so its values are encrypted at rest, then rewrite the records stored before (re-import, or update each record).',
    violations,
  };
}

async function accessLogged(store: GovernanceStore, tenantId: string, from: number, to: number): Promise<Check> {
  const counts = await store.auditCounts(tenantId, from, to);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const access = Object.entries(counts)
    .filter(([a]) => a.startsWith('access.'))
    .reduce((a, [, n]) => a + n, 0);
  return {
    status: total > 0 ? 'pass' : 'warning',
    evidence: { audit_entries: total, access_entries: access, by_action: counts },
    remediation: 'No audit entries in the period: check that the event relay runs (audit entries are written from events).',
  };
}

async function auditChain(deps: ComplianceDeps, tenantId: string): Promise<Check> {
  const result = await deps.verifyAudit(tenantId);
  return {
    status: result.valid ? 'pass' : 'fail',
    evidence: { entries_checked: result.checked, first_broken: result.first_broken ?? null },
    remediation: 'The audit chain was altered: restore the audit log from a backup and investigate who had write access to the database.',
    violations: result.first_broken
      ? [
          {
            resource_type: 'AuditEntry',
            resource_id: result.first_broken.id,
            detail: `the chain breaks at entry ${result.first_broken.seq}`,
          },
        ]
      : [],
  };
}

async function retention(store: GovernanceStore, tenantId: string): Promise<Check> {
  const rules = await store.retentionRules(tenantId);
  return {
    status: rules > 0 ? 'pass' : 'warning',
    evidence: { retention_rules: rules },
    remediation: 'Configure retention (PUT /api/v1/bus/retention/{prefix}) so that data is not kept longer than needed.',
  };
}

async function anonymizedExports(
  store: GovernanceStore,
  tenantId: string,
  datasets: DatasetRow[],
  from: number,
  to: number,
): Promise<Check> {
  // A dataset whose PII fields are classified is exported with them encrypted, or anonymized by
  // its insert policy; an export of a dataset with unclassified PII is what this flags.
  const sensitive = datasets.filter((d) => (fromJson<{ fields?: SchemaField[] }>(d.schema).fields ?? []).some(isPii) && !d.insert_policy);
  const exports = await store.exports(
    tenantId,
    from,
    to,
    sensitive.map((d) => d.id),
  );
  return {
    status: exports.length > 0 ? 'warning' : 'pass',
    evidence: { exports_of_pii_datasets_without_anonymization_policy: exports.length, export_ids: exports.map((e) => e.id).slice(0, 50) },
    remediation: 'Export PII datasets through POST /api/v1/datasets/{id}/anonymize first, or give them an anonymize-on-insert policy.',
    violations: exports.map((e) => ({
      resource_type: 'Export',
      resource_id: e.id,
      detail: `export of ${e.dataset_id} without an anonymization policy`,
    })),
  };
}

async function dpBudget(store: GovernanceStore, tenantId: string): Promise<Check> {
  const over = await store.overspentBudgets(tenantId);
  return {
    status: over.length > 0 ? 'fail' : 'pass',
    evidence: { budgets: await store.budgetCount(tenantId), overspent: over.length },
    remediation: 'Stop differential-privacy queries for the subjects listed, and review how their budget was exceeded.',
    violations: over.map((b) => ({
      resource_type: 'PrivacyBudget',
      resource_id: b.subject,
      detail: `ε spent ${b.epsilon_spent} of ${b.epsilon_total}`,
    })),
  };
}

async function keyRotation(store: GovernanceStore, tenantId: string, now: number): Promise<Check> {
  const keys = await store.dataKeys(tenantId);
  const stale = keys.filter((k) => now - (k.rotated_at ?? k.created_at) > KEY_MAX_AGE_DAYS * DAY);
  return {
    status: stale.length > 0 ? 'warning' : 'pass',
    evidence: { data_keys: keys.length, older_than_max_age: stale.length, max_age_days: KEY_MAX_AGE_DAYS },
    remediation: 'Rotate the master key (POST /api/v1/admin/keys/rotate), which re-wraps every data key.',
    violations: stale.map((k) => ({
      resource_type: 'DataKey',
      resource_id: k.id,
      detail: `not rotated since ${rfc3339(k.rotated_at ?? k.created_at)}`,
    })),
  };
}

async function leastPrivilege(store: GovernanceStore, tenantId: string): Promise<Check> {
  const keys = await store.broadKeys(tenantId);
  const broad = keys.filter((k) => {
    const scopes = fromJson<string[]>(k.scopes) ?? [];
    const roles = fromJson<string[]>(k.roles) ?? [];
    return scopes.includes('*') || roles.includes('admin') || roles.includes('platform_admin');
  });
  // One administrative key (the bootstrap admin) is expected; more is flagged.
  return {
    status: broad.length > 1 ? 'warning' : 'pass',
    evidence: { live_api_keys: keys.length, keys_with_full_access: broad.length, ids: broad.map((k) => k.id).slice(0, 50) },
    remediation: 'Give API keys only the scopes they use (`datasets:read`, …) and revoke unused administrative keys.',
  };
}

const esc = (s: unknown) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** The report as a printable HTML page (no script; inline style only). */
export function complianceHtml(r: ComplianceReport): string {
  const rows = r.controls
    .map(
      (c) =>
        `<tr class="${esc(c.status)}"><td>${esc(c.reference)}</td><td>${esc(c.title)}</td><td><b>${esc(c.status.toUpperCase())}</b></td><td><code>${esc(
          JSON.stringify(c.evidence),
        )}</code></td><td>${esc(c.remediation ?? '')}</td></tr>`,
    )
    .join('\n');
  const violations = r.violations.length
    ? `<ul>${r.violations.map((v) => `<li><b>${esc(v.control)}</b> ${esc(v.resource_type)} ${esc(v.resource_id)}: ${esc(v.detail)}</li>`).join('')}</ul>`
    : '<p>None.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.report_type)} compliance report: ${esc(r.tenant_id)}</title>
<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:4px;vertical-align:top}
tr.fail td{background:#fdd}tr.warning td{background:#ffd}tr.pass td{background:#dfd}code{font-size:12px;word-break:break-all}</style></head>
<body><h1>${esc(r.report_type)} compliance report</h1>
<p>Tenant <b>${esc(r.tenant_id)}</b>${r.dataset_id ? `, dataset <b>${esc(r.dataset_id)}</b>` : ''}; period ${esc(r.start_date)} to ${esc(r.end_date)}; generated ${esc(r.generated_at)}.</p>
<p>Overall: <b>${esc(r.status.toUpperCase())}</b> (${r.summary.pass} pass, ${r.summary.warning} warning, ${r.summary.fail} fail)</p>
<table><thead><tr><th>Reference</th><th>Control</th><th>Status</th><th>Evidence</th><th>Remediation</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>Violations</h2>${violations}
</body></html>`;
}
