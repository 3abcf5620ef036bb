import type { CreateRecognizer, Recognizer, UpdateRecognizer } from '@loam/api';
import type { ResourceRef } from '../../platform/access.js';
import type { RequestContext } from '../../platform/context.js';
import { AppError, conflict, notFound } from '../../platform/errors.js';
import type { Executor, Platform } from '../../platform/index.js';
import { type CompiledRecognizer, compileRecognizer } from './custom.js';
import type { PrivacyStore, RecognizerContent } from './store.js';

const RECOGNIZERS_PER_TENANT = 100;
/** Recognizers are used and managed with the `anonymization:use` scope, as their routes. */
const USE = 'anonymization:use';

/** A recognizer as the access check sees it: `Loam::Resource` with `resource.type == "recognizer"`. */
const recognizerResource = (tenantId: string, r: Pick<Recognizer, 'id' | 'name' | 'entity_type'>): ResourceRef => ({
  type: 'recognizer',
  id: r.id,
  tenantId,
  attributes: { name: r.name, entity_type: r.entity_type },
});

/** A tenant's own recognizers (patterns with context words), compiled once per tenant and cached. */
export class RecognizerService {
  private readonly customCache = new Map<string, CompiledRecognizer[]>();

  constructor(
    private readonly platform: Platform,
    private readonly store: PrivacyStore,
  ) {}

  /** The tenant's enabled recognizers, compiled (cached until one changes). For analysis: no caller. */
  async customFor(tenantId: string): Promise<CompiledRecognizer[]> {
    const cached = this.customCache.get(tenantId);
    if (cached) return cached;
    const enabled = await this.store.recognizers(this.platform.database.db, tenantId, { enabledOnly: true });
    const compiled = enabled.map((r) =>
      compileRecognizer(r.id, { name: r.name, entity_type: r.entity_type, patterns: r.patterns, context: r.context }, false),
    );
    this.customCache.set(tenantId, compiled);
    return compiled;
  }

  /** The caller's recognizers, leaving out those a policy does not let it use. */
  async listRecognizers(ctx: RequestContext): Promise<Recognizer[]> {
    const all = await this.store.recognizers(this.platform.database.db, ctx.tenantId);
    const allowed = await Promise.all(all.map((r) => this.platform.access.allows(ctx, USE, recognizerResource(ctx.tenantId, r))));
    return all.filter((_, i) => allowed[i]);
  }

  async getRecognizer(ctx: RequestContext, id: string): Promise<Recognizer> {
    const r = await this.store.recognizer(this.platform.database.db, ctx.tenantId, id);
    if (!r) throw notFound('Recognizer');
    await this.platform.access.check(ctx, USE, recognizerResource(ctx.tenantId, r));
    return r;
  }

  async createRecognizer(ctx: RequestContext, input: CreateRecognizer): Promise<Recognizer> {
    const tenantId = ctx.tenantId;
    const id = this.platform.ids.new('rcg');
    compileRecognizer(id, input); // validates every pattern
    await this.platform.access.check(ctx, USE, recognizerResource(tenantId, { id, ...input }));
    const content: RecognizerContent = { ...input, context: input.context ?? [], enabled: input.enabled !== false };
    const created = await this.platform.transaction(async (tx) => {
      if ((await this.store.countRecognizers(tx, tenantId)) >= RECOGNIZERS_PER_TENANT)
        throw new AppError('quota_exceeded', 403, `A tenant may define at most ${RECOGNIZERS_PER_TENANT} recognizers`);
      await this.assertNameFree(tx, tenantId, input.name);
      const r = await this.store.insertRecognizer(tx, tenantId, id, content, this.platform.clock.now());
      await this.platform.events.emit(
        tx,
        'anonymization.recognizer_created',
        id,
        { id, name: input.name, entity_type: input.entity_type },
        { tenantId },
      );
      return r;
    });
    this.customCache.delete(tenantId);
    return created;
  }

  async updateRecognizer(ctx: RequestContext, id: string, patch: UpdateRecognizer): Promise<Recognizer> {
    const tenantId = ctx.tenantId;
    const current = await this.getRecognizer(ctx, id);
    const next = { ...current, ...patch };
    compileRecognizer(id, next);
    const content: RecognizerContent = { ...next, context: next.context ?? [], enabled: next.enabled !== false };
    const updated = await this.platform.transaction(async (tx) => {
      if (patch.name && patch.name !== current.name) await this.assertNameFree(tx, tenantId, patch.name);
      const r = await this.store.updateRecognizer(tx, tenantId, id, content, this.platform.clock.now());
      if (!r) throw notFound('Recognizer');
      await this.platform.events.emit(tx, 'anonymization.recognizer_updated', id, { id, fields: Object.keys(patch) }, { tenantId });
      return r;
    });
    this.customCache.delete(tenantId);
    return updated;
  }

  async deleteRecognizer(ctx: RequestContext, id: string): Promise<void> {
    const tenantId = ctx.tenantId;
    await this.getRecognizer(ctx, id);
    await this.platform.transaction(async (tx) => {
      if (!(await this.store.deleteRecognizer(tx, tenantId, id))) throw notFound('Recognizer');
      await this.platform.events.emit(tx, 'anonymization.recognizer_deleted', id, { id }, { tenantId });
    });
    this.customCache.delete(tenantId);
  }

  /** 409 when the tenant already has a recognizer called `name`. */
  private async assertNameFree(tx: Executor, tenantId: string, name: string): Promise<void> {
    if (await this.store.recognizerNamed(tx, tenantId, name)) throw conflict(`A recognizer named '${name}' exists`);
  }
}
