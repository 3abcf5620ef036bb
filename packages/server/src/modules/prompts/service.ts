import type {
  CreatePrompt,
  GeneratePrompt,
  GenerationResult,
  Prompt,
  PromptLabel,
  PromptList,
  PromptVariable,
  PromptVersionList,
  RenderedPrompt,
  UpdatePrompt,
  VariableValues,
} from '@loam/api';
import { LRUCache } from 'lru-cache';
import type { ResourceRef } from '../../platform/access.js';
import type { RequestContext } from '../../platform/context.js';
import { rfc3339 } from '../../platform/http/context.js';
import { AppError, badRequest, notFound } from '../../platform/errors.js';
import type { Platform } from '../../platform/index.js';
import type { CallOptions, ChatInput, ChatStream, LlmService } from '../llm/service.js';
import type { ChatMessage } from '../llm/types.js';
import { type PromptContent, type PromptSnapshot, PromptStore } from './store.js';
import { type CompiledTemplate, compileTemplate, renderCompiled, resolveVariables, undeclaredPlaceholders } from './template.js';

/** The label every prompt has, always pointing at the newest version. */
export const LATEST = 'latest';

/** Which version a read means: a number, a label, or (neither) the latest. */
export interface VersionSelector {
  version?: number;
  label?: string;
}

const toPrompt = (s: PromptSnapshot): Prompt => ({
  id: s.id,
  name: s.name,
  description: s.description,
  template: s.template,
  modelId: s.modelId,
  parameters: s.parameters,
  variables: variablesInUse(s),
  tags: s.tags,
  version: s.version,
  createdAt: rfc3339(s.createdAt),
  updatedAt: rfc3339(s.updatedAt),
  createdBy: s.updatedBy,
});

/** Prompts are read with `ai:read` and changed (and generated with) `ai:write`, as their routes' scopes. */
type PromptAction = 'ai:read' | 'ai:write';

/** The prompt as the access check sees it (Cedar `Loam::Prompt`; its name and model are tags). */
const promptResource = (p: Pick<PromptSnapshot, 'id' | 'tenantId' | 'name' | 'modelId'>): ResourceRef => ({
  type: 'Prompt',
  id: p.id,
  tenantId: p.tenantId,
  attributes: { name: p.name, model_id: p.modelId },
});

/**
 * The declared variables, then every placeholder the template uses without declaring it, as a
 * required variable (the contract makes `variables` optional: `Hello {{name}}` alone is a valid
 * prompt, and rendering it without `name` is an error). Only declared ones are stored, so a later
 * template that drops a placeholder drops its implied variable too.
 */
function variablesInUse(s: Pick<PromptSnapshot, 'template' | 'variables'>): PromptVariable[] {
  const implied = undeclaredPlaceholders(s.template, s.variables);
  return implied.length === 0 ? s.variables : [...s.variables, ...implied.map((name) => ({ name, required: true }))];
}

/** Keeps only the keys a variable may have, so stored JSON never carries `undefined` or extras. */
const cleanVariable = (v: PromptVariable): PromptVariable => ({
  name: v.name,
  ...(v.description !== undefined ? { description: v.description } : {}),
  ...(v.defaultValue !== undefined ? { defaultValue: v.defaultValue } : {}),
  ...(v.required !== undefined ? { required: v.required } : {}),
});

/**
 * Prompt templates (Atriumn AI service): immutable versions, movable labels, variable checking,
 * rendering by plain substitution, and generation through the LLM provider layer.
 */
export class PromptService {
  private readonly store: PromptStore;
  /** Versions are immutable, so a compiled template never goes stale. */
  private readonly compiled = new LRUCache<string, CompiledTemplate>({ max: 1000 });

  constructor(
    private readonly platform: Platform,
    private readonly llm: LlmService,
  ) {
    this.store = new PromptStore(platform.database.dialect);
  }

  /** Checks a prompt's content against the quotas and the variable rules; returns it normalized. */
  private validate(content: PromptContent): PromptContent {
    const bytes = Buffer.byteLength(content.template, 'utf8');
    const max = this.platform.config.promptsMaxTemplateBytes;
    if (bytes > max)
      throw new AppError(
        'payload_too_large',
        413,
        `The template is ${bytes} bytes; the limit is ${max} bytes (${Math.floor(max / 1024)} KB)`,
      );
    const names = content.variables.map((v) => v.name);
    const duplicates = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
    if (duplicates.length > 0)
      throw badRequest(
        `Variables declared more than once: ${duplicates.join(', ')}`,
        duplicates.map((n) => ({ field: 'variables', code: 'duplicate', message: `variable ${n} is declared more than once` })),
      );
    return { ...content, variables: content.variables.map(cleanVariable), tags: [...new Set(content.tags)] };
  }

  async create(ctx: RequestContext, input: CreatePrompt): Promise<Prompt> {
    const tenantId = ctx.tenantId;
    await this.platform.checkQuota(tenantId, 'prompts', 1);
    const content = this.validate({
      name: input.name,
      description: input.description ?? '',
      template: input.template,
      modelId: input.modelId ?? '',
      parameters: input.parameters ?? {},
      variables: input.variables ?? [],
      tags: input.tags ?? [],
    });
    const now = this.platform.clock.now();
    const snapshot: PromptSnapshot = {
      id: this.platform.ids.new('prm'),
      tenantId,
      ...content,
      version: 1,
      createdAt: now,
      updatedAt: now,
      updatedBy: ctx.principal.subject,
    };
    await this.platform.access.check(ctx, 'ai:write', promptResource(snapshot));
    await this.platform.transaction(async (tx) => {
      await this.store.lockTenant(tx, tenantId);
      const count = await this.store.count(tx, tenantId);
      const max = this.platform.config.promptsMaxPerTenant;
      if (count >= max) throw new AppError('quota_exceeded', 403, `This tenant already holds ${count} prompts; the limit is ${max}`);
      await this.store.insert(tx, snapshot);
      await this.platform.events.emit(
        tx,
        'prompt.created',
        snapshot.id,
        { id: snapshot.id, name: snapshot.name, version: 1 },
        { tenantId },
      );
    });
    return toPrompt(snapshot);
  }

  /** The latest version, or the one a version number or label names. */
  async get(ctx: RequestContext, id: string, selector: VersionSelector = {}): Promise<Prompt> {
    return toPrompt(await this.snapshot(ctx, 'ai:read', id, selector));
  }

  /** The latest version of the caller's prompt, once `action` on it is allowed (404 unknown, 403 denied). */
  private async authorized(ctx: RequestContext, action: PromptAction, id: string): Promise<PromptSnapshot> {
    const latest = await this.store.latest(this.platform.database.db, ctx.tenantId, id);
    if (!latest) throw notFound('Prompt');
    await this.platform.access.check(ctx, action, promptResource(latest));
    return latest;
  }

  /** The version a selector names, of a prompt the caller may `action`. */
  private async snapshot(ctx: RequestContext, action: PromptAction, id: string, selector: VersionSelector): Promise<PromptSnapshot> {
    if (selector.version !== undefined && selector.label !== undefined)
      throw new AppError('invalid_param', 400, 'Give either version or label, not both');
    const latest = await this.authorized(ctx, action, id);
    const db = this.platform.database.db;
    let version = selector.version;
    if (selector.label !== undefined && selector.label !== LATEST) {
      const label = await this.store.label(db, ctx.tenantId, id, selector.label);
      if (!label) throw new AppError('not_found', 404, `The prompt has no label '${selector.label}'`);
      version = label.version;
    }
    if (version === undefined) return latest;
    const snapshot = await this.store.atVersion(db, ctx.tenantId, id, version);
    if (!snapshot) throw new AppError('not_found', 404, `The prompt has no version ${version}`);
    return snapshot;
  }

  /** Partial update: the keys present replace the latest version's; the result is written as version n+1. */
  async update(ctx: RequestContext, id: string, input: UpdatePrompt): Promise<Prompt> {
    const tenantId = ctx.tenantId;
    await this.authorized(ctx, 'ai:write', id);
    return this.platform.transaction(async (tx) => {
      const current = await this.store.latest(tx, tenantId, id, true);
      if (!current) throw notFound('Prompt');
      const changed = (Object.keys(input) as (keyof UpdatePrompt)[]).filter((k) => input[k] !== undefined);
      const content = this.validate({
        name: input.name ?? current.name,
        description: input.description ?? current.description,
        template: input.template ?? current.template,
        modelId: input.modelId ?? current.modelId,
        parameters: input.parameters ?? current.parameters,
        variables: input.variables ?? current.variables,
        tags: input.tags ?? current.tags,
      });
      const next: PromptSnapshot = {
        ...current,
        ...content,
        version: current.version + 1,
        updatedAt: Math.max(this.platform.clock.now(), current.updatedAt),
        updatedBy: ctx.principal.subject,
      };
      await this.store.update(tx, next);
      await this.platform.events.emit(tx, 'prompt.updated', id, { id, version: next.version, changed }, { tenantId });
      return toPrompt(next);
    });
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    const tenantId = ctx.tenantId;
    await this.authorized(ctx, 'ai:write', id);
    await this.platform.transaction(async (tx) => {
      if (!(await this.store.delete(tx, tenantId, id))) throw notFound('Prompt');
      await this.platform.events.emit(tx, 'prompt.deleted', id, { id }, { tenantId });
    });
  }

  /** A page of latest versions; prompts the caller may not read are left out of it. */
  async list(
    ctx: RequestContext,
    query: { modelId?: string; tags?: string[]; maxResults?: number; nextToken?: string },
  ): Promise<PromptList> {
    const { items, next } = await this.store.list(
      this.platform.database.db,
      ctx.tenantId,
      { modelId: query.modelId, tags: query.tags },
      { limit: query.maxResults ?? 20, cursor: query.nextToken },
      this.platform.signer,
    );
    const allowed = await Promise.all(items.map((s) => this.platform.access.allows(ctx, 'ai:read', promptResource(s))));
    return { prompts: items.filter((_, i) => allowed[i]).map(toPrompt), ...(next ? { nextToken: next } : {}) };
  }

  /** Versions newest first with who wrote them and the labels on each. */
  async versions(ctx: RequestContext, id: string, query: { maxResults?: number; nextToken?: string }): Promise<PromptVersionList> {
    const db = this.platform.database.db;
    const tenantId = ctx.tenantId;
    const latest = await this.authorized(ctx, 'ai:read', id);
    const purpose = `cursor:prompt-versions:${tenantId}:${id}`;
    let beforeVersion: number | undefined;
    if (query.nextToken) {
      const cursor = this.platform.signer.verify<{ before: number }>(query.nextToken, purpose);
      if (!cursor || !Number.isInteger(cursor.before))
        throw new AppError('invalid_param', 400, 'nextToken is invalid or was tampered with');
      beforeVersion = cursor.before;
    }
    const limit = query.maxResults ?? 20;
    const rows = await this.store.versions(db, tenantId, id, { beforeVersion, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const labels: Record<string, number> = { [LATEST]: latest.version };
    for (const l of await this.store.labels(db, tenantId, id)) labels[l.label] = l.version;
    const nextToken = rows.length > limit ? this.platform.signer.sign({ before: page[page.length - 1].version }, purpose) : undefined;
    return {
      versions: page.map((v) => ({
        version: v.version,
        createdAt: rfc3339(v.createdAt),
        createdBy: v.createdBy,
        labels: Object.entries(labels)
          .filter(([, version]) => version === v.version)
          .map(([name]) => name)
          .sort(),
      })),
      labels,
      ...(nextToken ? { nextToken } : {}),
    };
  }

  /** Points `label` at `version` (creating or moving it). `latest` moves by itself and cannot be set. */
  async setLabel(ctx: RequestContext, id: string, label: string, version: number): Promise<PromptLabel> {
    if (label === LATEST) throw badRequest(`The label '${LATEST}' always points at the newest version and cannot be set`);
    const tenantId = ctx.tenantId;
    await this.authorized(ctx, 'ai:write', id);
    return this.platform.transaction(async (tx) => {
      const latest = await this.store.latest(tx, tenantId, id, true);
      if (!latest) throw notFound('Prompt');
      if (version > latest.version)
        throw badRequest(`The prompt has no version ${version} (the latest is ${latest.version})`, [
          { field: 'version', code: 'out_of_range', message: `version must be between 1 and ${latest.version}` },
        ]);
      const row = { label, version, updatedAt: this.platform.clock.now(), updatedBy: ctx.principal.subject };
      await this.store.setLabel(tx, tenantId, id, row);
      await this.platform.events.emit(
        tx,
        'prompt.updated',
        id,
        { id, version: latest.version, label: { name: label, version } },
        { tenantId },
      );
      return { name: label, version, updatedAt: rfc3339(row.updatedAt), updatedBy: row.updatedBy };
    });
  }

  async deleteLabel(ctx: RequestContext, id: string, label: string): Promise<void> {
    if (label === LATEST) throw badRequest(`The label '${LATEST}' always points at the newest version and cannot be removed`);
    const tenantId = ctx.tenantId;
    await this.authorized(ctx, 'ai:write', id);
    await this.platform.transaction(async (tx) => {
      const latest = await this.store.latest(tx, tenantId, id, true);
      if (!latest) throw notFound('Prompt');
      if (!(await this.store.deleteLabel(tx, tenantId, id, label)))
        throw new AppError('not_found', 404, `The prompt has no label '${label}'`);
      await this.platform.events.emit(
        tx,
        'prompt.updated',
        id,
        { id, version: latest.version, label: { name: label, version: null } },
        { tenantId },
      );
    });
  }

  /** Substitutes the variables into the chosen version's template. Never evaluates anything. */
  async render(ctx: RequestContext, id: string, input: VersionSelector & { variables?: VariableValues }): Promise<RenderedPrompt> {
    const snapshot = await this.snapshot(ctx, 'ai:read', id, input);
    return { text: this.renderSnapshot(snapshot, input.variables), version: snapshot.version };
  }

  private renderSnapshot(snapshot: PromptSnapshot, given: VariableValues | undefined): string {
    const { values, missing, unknown } = resolveVariables(variablesInUse(snapshot), given);
    if (missing.length > 0 || unknown.length > 0) {
      const problems = [
        ...(missing.length ? [`missing required variables: ${missing.join(', ')}`] : []),
        ...(unknown.length ? [`unknown variables: ${unknown.join(', ')}`] : []),
      ];
      throw new AppError(
        'validation_error',
        400,
        `Cannot render version ${snapshot.version}: ${problems.join('; ')}`,
        [
          ...missing.map((n) => ({ field: `variables.${n}`, code: 'required_field_missing', message: `variable ${n} is required` })),
          ...unknown.map((n) => ({ field: `variables.${n}`, code: 'unknown_field', message: `variable ${n} is not declared` })),
        ],
        undefined,
        { missingVariables: missing, unknownVariables: unknown },
      );
    }
    const key = `${snapshot.id}@${snapshot.version}`;
    let compiled = this.compiled.get(key);
    if (!compiled) {
      compiled = compileTemplate(snapshot.template);
      this.compiled.set(key, compiled);
    }
    return renderCompiled(compiled, values);
  }

  /** Renders, then builds the chat request: prompt parameters as defaults, request fields override. */
  private async prepareGeneration(ctx: RequestContext, id: string, input: GeneratePrompt) {
    const snapshot = await this.snapshot(ctx, 'ai:write', id, input);
    const text = this.renderSnapshot(snapshot, input.variables);
    const p = snapshot.parameters;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    const stopOf = (v: unknown) =>
      typeof v === 'string' ? [v] : Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : undefined;
    const messages: ChatMessage[] = [];
    if (typeof p.system === 'string' && p.system) messages.push({ role: 'system', content: p.system });
    messages.push({ role: 'user', content: text });
    const request: ChatInput = {
      model: snapshot.modelId || undefined,
      messages,
      temperature: input.temperature ?? num(p.temperature),
      maxTokens: input.maxTokens ?? num(p.maxTokens) ?? num(p.max_tokens),
      topP: num(p.topP) ?? num(p.top_p),
      stop: stopOf(input.stop) ?? stopOf(p.stop),
    };
    return { snapshot, request, call: { timeoutMs: input.timeoutMs } };
  }

  async generate(ctx: RequestContext, id: string, input: GeneratePrompt, opts: CallOptions = {}): Promise<GenerationResult> {
    const { snapshot, request, call } = await this.prepareGeneration(ctx, id, input);
    const result = await this.llm.chat(request, { ...call, signal: opts.signal });
    return {
      text: result.text,
      promptId: snapshot.id,
      version: snapshot.version,
      provider: result.provider,
      model: result.model,
      finishReason: result.finishReason,
      usage: result.usage,
      latencyMs: result.latencyMs,
    };
  }

  /** A streamed generation; resolves once the provider accepted the request. */
  async generateStream(
    ctx: RequestContext,
    id: string,
    input: GeneratePrompt,
    opts: CallOptions = {},
  ): Promise<ChatStream & { promptId: string; version: number }> {
    const { snapshot, request, call } = await this.prepareGeneration(ctx, id, input);
    const stream = await this.llm.streamChat(request, { ...call, signal: opts.signal });
    return { ...stream, promptId: snapshot.id, version: snapshot.version };
  }
}
