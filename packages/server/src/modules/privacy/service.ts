import type {
  AnalyzeRequest,
  AnonymizeRequest,
  AnonymizeResult,
  DeanonymizeRequest,
  PrivacyMetrics,
  Technique,
  ValidateRequest,
  ValidateResult,
} from '@loam/api';
import { Counter } from 'prom-client';
import type { ResourceRef } from '../../platform/access.js';
import type { RequestContext } from '../../platform/context.js';
import { type DataKeyRing, DecryptionError, isCiphertext } from '../../platform/crypto/envelope.js';
import { hmacSha256, randomToken } from '../../platform/crypto/index.js';
import { rfc3339 } from '../../platform/http/context.js';
import { AppError } from '../../platform/errors.js';
import type { Executor, Platform } from '../../platform/index.js';
import { PLATFORM_ADMIN } from '../../platform/principal.js';
import { findCustom } from './custom.js';
import { type DetectedEntity, type DocumentOptions, analyzeDocument, analyzeText } from './detection/analyzer.js';
import { type AppliedItem, OPERATOR_NAMES, type OperatorConfig, type OperatorContext, anonymizeText, applyOperator } from './operators.js';
import { type Row, assessRisk, mondrian } from './tabular.js';
import { TECHNIQUES } from './techniques.js';
import { BudgetService } from './budgets.js';
import { RecognizerService } from './recognizers.js';
import { PrivacyStore } from './store.js';

const TOKEN_PATTERN = /\btok_[A-Za-z0-9]{24}\b/g;
const CIPHERTEXT_PATTERN = /\benc:v1:dk_[A-Za-z0-9]+:[A-Za-z0-9_-]+/g;
const ANONYMIZE_AAD = 'loam-anonymize';

/**
 * The data keys as the access check sees them (`Loam::Key`): `anonymization` for reversing
 * tokens and ciphertexts, `master-key` for rotation.
 */
const keyResource = (ctx: RequestContext, id: 'anonymization' | 'master-key'): ResourceRef => ({
  type: 'Key',
  id,
  tenantId: ctx.tenantId,
});

interface TenantMetrics {
  since: number;
  entities: Map<string, number>;
  operators: Map<string, number>;
  analyzedBytes: number;
  analyzeSeconds: number;
  analyzeRequests: number;
  anonymizedRecords: number;
  anonymizeRequests: number;
}

/**
 * The privacy engine: PII detection, anonymization operators, privacy models on tables,
 * differentially private aggregates with ε budgets, and reversal (tokens, ciphertexts) for
 * principals holding `anonymization:reverse`.
 */
export class PrivacyService {
  private readonly metrics = new Map<string, TenantMetrics>();
  private readonly entityCounter: Counter;
  private readonly operatorCounter: Counter;
  private readonly bytesCounter: Counter;
  /** Differential privacy budgets and aggregates (budgets.ts). */
  readonly budgets: BudgetService;
  /** The tenant's own recognizers (recognizers.ts). */
  readonly recognizers: RecognizerService;
  private readonly store = new PrivacyStore();

  constructor(
    private readonly platform: Platform,
    readonly keys: DataKeyRing,
  ) {
    this.budgets = new BudgetService(platform, this.store);
    this.recognizers = new RecognizerService(platform, this.store);
    const registers = [platform.metrics];
    this.entityCounter = new Counter({
      name: 'loam_privacy_entities_total',
      help: 'PII entities found, by type',
      labelNames: ['type'],
      registers,
    });
    this.operatorCounter = new Counter({
      name: 'loam_privacy_operator_total',
      help: 'Anonymization operator applications',
      labelNames: ['operator'],
      registers,
    });
    this.bytesCounter = new Counter({ name: 'loam_privacy_analyzed_bytes_total', help: 'Bytes of text analyzed for PII', registers });
  }

  private tenantMetrics(tenantId: string): TenantMetrics {
    let m = this.metrics.get(tenantId);
    if (!m) {
      m = {
        since: this.platform.clock.now(),
        entities: new Map(),
        operators: new Map(),
        analyzedBytes: 0,
        analyzeSeconds: 0,
        analyzeRequests: 0,
        anonymizedRecords: 0,
        anonymizeRequests: 0,
      };
      this.metrics.set(tenantId, m);
    }
    return m;
  }

  /** The tenant's HMAC key for hashes, pseudonyms and vault lookups (derived, never stored). */
  private hmacKey(tenantId: string): Buffer {
    return this.platform.signer.derive(`anonymization:${tenantId}`);
  }

  // ---------------------------------------------------------------- detection

  private async documentOptions(tenantId: string, req: Omit<AnalyzeRequest, 'text' | 'document' | 'records'>): Promise<DocumentOptions> {
    const custom = await this.recognizers.customFor(tenantId);
    return {
      entities: req.entities,
      minScore: req.min_score,
      regions: req.regions,
      ner: req.ner,
      allowList: req.allow_list,
      denyList: req.deny_list,
      denyListType: req.deny_list_type,
      classification: req.classification,
      includeText: req.include_text,
      custom: custom.length
        ? {
            find: (text) =>
              findCustom(text, custom, (r) =>
                this.platform.log.warn({ recognizer: r.id, tenantId }, 'tenant recognizer timed out; skipped'),
              ),
            context: new Map(custom.map((r) => [r.name, r.context])),
          }
        : undefined,
    };
  }

  private checkSize(input: { text?: string; document?: unknown; records?: unknown[] }): number {
    const size =
      input.text !== undefined
        ? Buffer.byteLength(input.text)
        : Buffer.byteLength(JSON.stringify(input.document !== undefined ? input.document : (input.records ?? [])));
    if (size > this.platform.config.privacyMaxTextBytes)
      throw new AppError('payload_too_large', 413, `The input is ${size} bytes; the limit is ${this.platform.config.privacyMaxTextBytes}`);
    const given = [input.text !== undefined, input.document !== undefined, input.records !== undefined].filter(Boolean).length;
    if (given !== 1)
      throw new AppError('validation_error', 400, 'Give exactly one of text, document or records', [
        { field: 'text', code: 'invalid_value', message: 'exactly one of text, document, records' },
      ]);
    return size;
  }

  private async detect(tenantId: string, req: AnalyzeRequest): Promise<DetectedEntity[]> {
    const size = this.checkSize(req);
    const opts = await this.documentOptions(tenantId, req);
    const started = performance.now();
    const entities =
      req.text !== undefined
        ? analyzeText(req.text, opts)
        : req.document !== undefined
          ? analyzeDocument(req.document, opts)
          : (req.records ?? []).flatMap((r, i) => analyzeDocument(r, opts, `$[${i}]`));
    const m = this.tenantMetrics(tenantId);
    m.analyzeSeconds += (performance.now() - started) / 1000;
    m.analyzedBytes += size;
    m.analyzeRequests++;
    this.bytesCounter.inc(size);
    for (const e of entities) {
      m.entities.set(e.type, (m.entities.get(e.type) ?? 0) + 1);
      this.entityCounter.inc({ type: e.type });
    }
    return entities;
  }

  /**
   * Engine calls (analyze, anonymize, validate, metrics) take the tenant rather than a request
   * context: they serve no stored resource of the caller's (only the tenant's recognizers and token
   * vault), and other modules' jobs and the LLM gateway call them too.
   */
  async analyze(tenantId: string, req: AnalyzeRequest): Promise<{ entities: DetectedEntity[]; counts: Record<string, number> }> {
    const entities = await this.detect(tenantId, req);
    const counts: Record<string, number> = {};
    for (const e of entities) counts[e.type] = (counts[e.type] ?? 0) + 1;
    return { entities, counts };
  }

  // ---------------------------------------------------------------- anonymization

  /** `db`: the executor for the token vault and data keys (a caller's transaction). */
  private operatorContext(tenantId: string, db?: Executor): OperatorContext {
    const key = this.hmacKey(tenantId);
    return {
      hmac: (data) => hmacSha256(key, data).toString('hex'),
      tokenize: (value, type) => this.tokenize(tenantId, value, type, db),
      encrypt: (value) => this.keys.encrypt(tenantId, 'anonymization', value, ANONYMIZE_AAD, db),
    };
  }

  /** A stable token per value: the vault holds the value encrypted, found again by its HMAC. */
  private async tokenize(tenantId: string, value: string, type: string, db: Executor = this.platform.database.db): Promise<string> {
    const mac = hmacSha256(this.hmacKey(tenantId), `vault|${value}`).toString('hex');
    const existing = await this.store.tokenFor(db, tenantId, mac);
    if (existing) return existing;
    const token = `tok_${randomToken(this.platform.random, 24)}`;
    const ciphertext = await this.keys.encrypt(tenantId, 'token-vault', value, `token|${token}`, db);
    await this.store.insertToken(db, {
      token,
      tenantId,
      valueMac: mac,
      entityType: type,
      ciphertext,
      createdAt: this.platform.clock.now(),
    });
    const stored = await this.store.tokenFor(db, tenantId, mac);
    if (!stored) throw new AppError('internal_error', 500, 'A token vanished from the vault');
    return stored;
  }

  private countOperators(tenantId: string, items: { operator: string }[]): void {
    const m = this.tenantMetrics(tenantId);
    for (const it of items) {
      m.operators.set(it.operator, (m.operators.get(it.operator) ?? 0) + 1);
      this.operatorCounter.inc({ operator: it.operator });
    }
  }

  async anonymize(tenantId: string, req: AnonymizeRequest): Promise<AnonymizeResult> {
    const operators = (req.operators ?? {}) as Record<string, OperatorConfig>;
    const ctx = this.operatorContext(tenantId);
    const m = this.tenantMetrics(tenantId);
    m.anonymizeRequests++;
    if (req.privacy_model && req.records === undefined)
      throw new AppError('validation_error', 400, 'privacy_model applies to records', [
        { field: 'privacy_model', code: 'invalid_value', message: 'give records with a privacy_model' },
      ]);
    if (req.text !== undefined) {
      const entities = await this.detect(tenantId, { ...req, include_text: false });
      const out = await anonymizeText(req.text, entities, operators, ctx);
      this.countOperators(tenantId, out.items);
      return { text: out.text, items: out.items };
    }
    const entities = await this.detect(tenantId, { ...req, include_text: false });
    const byPath = new Map<string, DetectedEntity[]>();
    for (const e of entities) {
      const list = byPath.get(e.path as string);
      if (list) list.push(e);
      else byPath.set(e.path as string, [e]);
    }
    const items: (AppliedItem & { path: string })[] = [];
    const fields = (req.fields ?? {}) as Record<string, OperatorConfig>;
    const transform = async (value: unknown, path: string, field: string | undefined): Promise<unknown> => {
      if (Array.isArray(value)) return Promise.all(value.map((v, i) => transform(v, `${path}[${i}]`, field)));
      if (value && typeof value === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          const child = path + (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`);
          const next = await transform(v, child, k);
          if (next !== undefined) out[k] = next;
        }
        return out;
      }
      const fieldOp = field ? fields[field] : undefined;
      if (fieldOp && value !== null && value !== undefined) {
        const text = String(value);
        const type = byPath.get(path)?.[0]?.type ?? field?.toUpperCase() ?? 'VALUE';
        const replaced = await applyOperator(text, type, fieldOp, ctx);
        items.push({ type, operator: fieldOp.type, start: 0, end: text.length, new_start: 0, new_end: replaced?.length ?? 0, path });
        if (replaced === null) return null;
        return fieldOp.type === 'keep' ? value : replaced;
      }
      const found = byPath.get(path);
      if (!found || (typeof value !== 'string' && typeof value !== 'number')) return value;
      const out = await anonymizeText(String(value), found, operators, ctx);
      for (const it of out.items) items.push({ ...it, path });
      return out.text;
    };
    this.countOperators(tenantId, items);
    if (req.document !== undefined) return { document: await transform(req.document, '$', undefined), items };
    let records = (await Promise.all((req.records ?? []).map((r, i) => transform(r, `$[${i}]`, undefined)))) as Row[];
    m.anonymizedRecords += records.length;
    let privacy: { suppressed: number; partitions: number; satisfied: boolean } | undefined;
    if (req.privacy_model) {
      const pm = req.privacy_model;
      const result = mondrian(records, {
        k: pm.k,
        quasiIdentifiers: pm.quasi_identifiers,
        sensitive: pm.sensitive,
        l: pm.l,
        suppressionLimit: pm.suppression_limit,
      });
      records = result.records;
      privacy = { suppressed: result.suppressed, partitions: result.partitions, satisfied: result.satisfied };
      this.countOperators(tenantId, [{ operator: 'k_anonymity' }]);
    }
    return { records, items, ...(privacy ? { privacy } : {}) };
  }

  /** Restores tokens and ciphertexts; audited with an event naming who reversed how many values. */
  async deanonymize(ctx: RequestContext, req: DeanonymizeRequest) {
    const { tenantId, principal } = ctx;
    this.checkSize(req);
    await this.platform.access.check(ctx, 'anonymization:reverse', keyResource(ctx, 'anonymization'));
    let restored = 0;
    const types = new Map<string, number>();
    const restore = async (text: string): Promise<string> => {
      const matches = [...text.matchAll(TOKEN_PATTERN), ...text.matchAll(CIPHERTEXT_PATTERN)].sort(
        (a, b) => (a.index ?? 0) - (b.index ?? 0),
      );
      if (!matches.length) return text;
      let out = '';
      let cursor = 0;
      for (const m of matches) {
        const at = m.index ?? 0;
        if (at < cursor) continue;
        let value: string;
        try {
          value = m[0].startsWith('tok_')
            ? await this.detokenize(tenantId, m[0], types)
            : await this.keys.decryptString(tenantId, m[0], ANONYMIZE_AAD);
          if (!m[0].startsWith('tok_')) types.set('encrypted', (types.get('encrypted') ?? 0) + 1);
        } catch (err) {
          if (err instanceof DecryptionError) throw new AppError('decryption_failed', 400, err.message);
          throw err;
        }
        out += text.slice(cursor, at) + value;
        cursor = at + m[0].length;
        restored++;
      }
      return out + text.slice(cursor);
    };
    const walk = async (v: unknown): Promise<unknown> => {
      if (typeof v === 'string') return restore(v);
      if (Array.isArray(v)) return Promise.all(v.map(walk));
      if (v && typeof v === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = await walk(x);
        return out;
      }
      return v;
    };
    const result =
      req.text !== undefined
        ? { text: await restore(req.text) }
        : req.document !== undefined
          ? { document: await walk(req.document) }
          : { records: (await walk(req.records ?? [])) as Row[] };
    await this.platform.transaction((tx) =>
      this.platform.events.emit(
        tx,
        'anonymization.deanonymized',
        principal.subject,
        { actor: principal.subject, actor_kind: principal.kind, restored, by_kind: Object.fromEntries(types) },
        { tenantId },
      ),
    );
    return { ...result, restored };
  }

  private async detokenize(tenantId: string, token: string, types: Map<string, number>): Promise<string> {
    const entry = await this.store.vaultEntry(this.platform.database.db, tenantId, token);
    if (!entry) throw new AppError('not_found', 404, 'Unknown token (tokens are valid only in the tenant that issued them)');
    types.set(entry.entityType, (types.get(entry.entityType) ?? 0) + 1);
    return this.keys.decryptString(tenantId, entry.ciphertext, `token|${token}`);
  }

  // ---------------------------------------------------------------- privacy models

  async validate(tenantId: string, req: ValidateRequest): Promise<ValidateResult> {
    const targetK = req.k ?? 5;
    const risk = assessRisk(req.records as Row[], req.quasi_identifiers, targetK, req.sensitive);
    const residual = { total: 0, by_type: {} as Record<string, number>, samples: [] as DetectedEntity[] };
    if (req.detect_pii !== false) {
      // Generalized quasi-identifiers ("1980-1989", "SW1*") are not PII; everything else is scanned.
      const qis = new Set(req.quasi_identifiers);
      const scanned = (req.records as Row[]).map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !qis.has(k))));
      const entities = await this.detect(tenantId, { records: scanned, min_score: req.min_score });
      residual.total = entities.length;
      for (const e of entities) residual.by_type[e.type] = (residual.by_type[e.type] ?? 0) + 1;
      residual.samples = entities.slice(0, 20);
    }
    return {
      ...risk,
      k_satisfied: risk.k >= targetK,
      l_satisfied: req.sensitive ? (risk.l ?? 0) >= (req.l ?? 2) : null,
      residual_pii: residual,
    };
  }

  // ---------------------------------------------------------------- catalogue, metrics, keys

  techniques(): Technique[] {
    return TECHNIQUES;
  }

  metricsOf(tenantId: string): PrivacyMetrics {
    const m = this.tenantMetrics(tenantId);
    return {
      since: rfc3339(m.since),
      entities_by_type: Object.fromEntries(m.entities),
      operators: Object.fromEntries(m.operators),
      analyzed_bytes: m.analyzedBytes,
      analyze_requests: m.analyzeRequests,
      analyze_mb_per_second: m.analyzeSeconds > 0 ? Math.round((m.analyzedBytes / 1e6 / m.analyzeSeconds) * 100) / 100 : 0,
      anonymized_records: m.anonymizedRecords,
      anonymize_requests: m.anonymizeRequests,
    };
  }

  /** Re-wraps every data key under a new master key version (platform admins only). */
  async rotateKeys(ctx: RequestContext): Promise<{ provider: string; rewrapped: number }> {
    const { principal } = ctx;
    if (!principal.roles.includes(PLATFORM_ADMIN))
      throw new AppError('forbidden', 403, 'Rotating the master key needs the platform_admin role');
    await this.platform.access.check(ctx, 'keys:admin', keyResource(ctx, 'master-key'));
    const result = await this.keys.rotateMasterKey();
    await this.platform.transaction((tx) =>
      this.platform.events.emit(
        tx,
        'keys.rotated',
        'master-key',
        { provider: result.provider, rewrapped: result.rewrapped, actor: principal.subject },
        { tenantId: principal.tenantId },
      ),
    );
    return result;
  }

  // ---------------------------------------------------------------- hooks for other modules

  /**
   * Applies `fields` operators (field → operator, as `anonymize` takes for records) to the whole
   * values of top-level fields, in copies of `records` (only the `only` fields of a record when
   * given). Null and missing values, and `keep` fields, are left alone; non-strings are operated on
   * as their JSON text; `suppress` makes the value null. `types` names each field's entity type (for `replace`,
   * `pseudonymize`, `generalize`). `db` is the executor for the token vault and data keys.
   * For the datasets module's insert policies.
   */
  async anonymizeFields(
    tenantId: string,
    records: { data: Record<string, unknown>; only?: string[] }[],
    fields: Record<string, OperatorConfig>,
    types: Record<string, string>,
    db?: Executor,
  ): Promise<{ records: Record<string, unknown>[]; changed: number[] }> {
    const ctx = this.operatorContext(tenantId, db);
    const items: { operator: string }[] = [];
    const out: Record<string, unknown>[] = [];
    const changed: number[] = [];
    for (const r of records) {
      const data = { ...r.data };
      let n = 0;
      for (const name of r.only ?? Object.keys(fields)) {
        const op = fields[name];
        const value = data[name];
        if (!op || op.type === 'keep' || value === undefined || value === null) continue;
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        data[name] = await applyOperator(text, types[name] ?? name.toUpperCase(), op, ctx);
        items.push({ operator: op.type });
        n++;
      }
      out.push(data);
      changed.push(n);
    }
    this.countOperators(tenantId, items);
    this.tenantMetrics(tenantId).anonymizedRecords += changed.filter((n) => n > 0).length;
    return { records: out, changed };
  }

  /** Encrypts a field value for storage at rest, bound to its dataset, record and field. */
  encryptField(tenantId: string, datasetId: string, recordId: string, field: string, value: unknown, db?: Executor): Promise<string> {
    return this.keys.encrypt(tenantId, `dataset:${datasetId}`, JSON.stringify(value), `${datasetId}|${recordId}|${field}`, db);
  }

  /**
   * Reverses `encryptField`. A value moved to another record or field, altered, or not a
   * ciphertext at all throws a `DecryptionError` naming the record and field (never the value).
   */
  async decryptField(
    tenantId: string,
    datasetId: string,
    recordId: string,
    field: string,
    stored: unknown,
    db?: Executor,
  ): Promise<unknown> {
    const where = `Field '${field}' of record '${recordId}'`;
    if (!isCiphertext(stored)) throw new DecryptionError(`${where} is not encrypted although it is stored encrypted at rest`);
    try {
      return JSON.parse(await this.keys.decryptString(tenantId, stored, `${datasetId}|${recordId}|${field}`, db));
    } catch (err) {
      if (err instanceof DecryptionError) throw new DecryptionError(`${where} could not be decrypted: ${err.message}`);
      throw err;
    }
  }

  /**
   * Encrypts, in a copy of `data`, every non-null value of the `fields` named (a dataset schema's
   * PII fields), bound to dataset, record and field. Values that already look like ciphertexts
   * (an `encrypt` operator's output) are encrypted too, so every stored value decrypts the same way.
   */
  async encryptPiiFields(
    tenantId: string,
    datasetId: string,
    recordId: string,
    fields: string[],
    data: Record<string, unknown>,
    db?: Executor,
  ): Promise<Record<string, unknown>> {
    return mapPresentFields(fields, data, (f, v) => this.encryptField(tenantId, datasetId, recordId, f, v, db));
  }

  /** Reverses `encryptPiiFields` for the same `fields` (null and missing values pass through). */
  async decryptPiiFields(
    tenantId: string,
    datasetId: string,
    recordId: string,
    fields: string[],
    data: Record<string, unknown>,
    db?: Executor,
  ): Promise<Record<string, unknown>> {
    return mapPresentFields(fields, data, (f, v) => this.decryptField(tenantId, datasetId, recordId, f, v, db));
  }

  /** Known operator names (for other modules validating stored policies). */
  static readonly operatorNames = OPERATOR_NAMES;
}

/** A copy of `data` with `fn` applied to each of `fields` that holds a value (null and missing pass through). */
async function mapPresentFields(
  fields: string[],
  data: Record<string, unknown>,
  fn: (field: string, value: unknown) => Promise<unknown>,
): Promise<Record<string, unknown>> {
  const out = { ...data };
  for (const f of fields) {
    if (out[f] === undefined || out[f] === null) continue;
    out[f] = await fn(f, out[f]);
  }
  return out;
}
