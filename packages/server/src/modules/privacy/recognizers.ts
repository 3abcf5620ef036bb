import type { CreateRecognizer, Recognizer, UpdateRecognizer } from '@loam/api';
import { fromJson, toBool, toJson } from '../../platform/db/index.js';
import { rfc3339 } from '../../platform/http/context.js';
import { AppError, conflict, notFound } from '../../platform/http/errors.js';
import type { Executor, Platform } from '../../platform/index.js';
import { type CompiledRecognizer, compileRecognizer } from './custom.js';

const RECOGNIZERS_PER_TENANT = 100;

// biome-ignore lint/suspicious/noExplicitAny: a raw privacy_recognizers row
function toRecognizer(row: any): Recognizer {
  return {
    id: row.id,
    name: row.name,
    entity_type: row.entity_type,
    patterns: fromJson(row.patterns),
    context: fromJson(row.context),
    enabled: toBool(row.enabled),
    created_at: rfc3339(Number(row.created_at)),
    updated_at: rfc3339(Number(row.updated_at)),
  };
}

/** A tenant's own recognizers (patterns with context words), compiled once per tenant and cached. */
export class RecognizerService {
  private readonly customCache = new Map<string, CompiledRecognizer[]>();

  constructor(private readonly platform: Platform) {}

  /** The tenant's enabled recognizers, compiled (cached until one changes). */
  async customFor(tenantId: string): Promise<CompiledRecognizer[]> {
    const cached = this.customCache.get(tenantId);
    if (cached) return cached;
    const rows = await this.platform.database.db
      .selectFrom('privacy_recognizers')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('enabled', '=', 1)
      .execute();
    const compiled = rows.map((row) => {
      const r = toRecognizer(row);
      return compileRecognizer(r.id, { name: r.name, entity_type: r.entity_type, patterns: r.patterns, context: r.context }, false);
    });
    this.customCache.set(tenantId, compiled);
    return compiled;
  }

  async listRecognizers(tenantId: string): Promise<Recognizer[]> {
    const rows = await this.platform.database.db
      .selectFrom('privacy_recognizers')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('id')
      .execute();
    return rows.map(toRecognizer);
  }

  async getRecognizer(tenantId: string, id: string): Promise<Recognizer> {
    const row = await this.platform.database.db
      .selectFrom('privacy_recognizers')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('Recognizer');
    return toRecognizer(row);
  }

  async createRecognizer(tenantId: string, input: CreateRecognizer): Promise<Recognizer> {
    const id = this.platform.ids.new('rcg');
    compileRecognizer(id, input); // validates every pattern
    const now = this.platform.clock.now();
    const row = await this.platform.transaction(async (tx) => {
      const count = await tx
        .selectFrom('privacy_recognizers')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', tenantId)
        .executeTakeFirstOrThrow();
      if (Number(count.n) >= RECOGNIZERS_PER_TENANT)
        throw new AppError('quota_exceeded', 403, `A tenant may define at most ${RECOGNIZERS_PER_TENANT} recognizers`);
      await assertRecognizerNameFree(tx, tenantId, input.name);
      const inserted = await tx
        .insertInto('privacy_recognizers')
        .values({
          id,
          tenant_id: tenantId,
          name: input.name,
          entity_type: input.entity_type,
          patterns: toJson(input.patterns),
          context: toJson(input.context ?? []),
          enabled: input.enabled === false ? 0 : 1,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.platform.events.emit(
        tx,
        'anonymization.recognizer_created',
        id,
        { id, name: input.name, entity_type: input.entity_type },
        { tenantId },
      );
      return inserted;
    });
    this.customCache.delete(tenantId);
    return toRecognizer(row);
  }

  async updateRecognizer(tenantId: string, id: string, patch: UpdateRecognizer): Promise<Recognizer> {
    const current = await this.getRecognizer(tenantId, id);
    const next = { ...current, ...patch };
    compileRecognizer(id, next);
    const row = await this.platform.transaction(async (tx) => {
      if (patch.name && patch.name !== current.name) {
        await assertRecognizerNameFree(tx, tenantId, patch.name);
      }
      const updated = await tx
        .updateTable('privacy_recognizers')
        .set({
          name: next.name,
          entity_type: next.entity_type,
          patterns: toJson(next.patterns),
          context: toJson(next.context ?? []),
          enabled: next.enabled === false ? 0 : 1,
          updated_at: this.platform.clock.now(),
        })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
      if (!updated) throw notFound('Recognizer');
      await this.platform.events.emit(tx, 'anonymization.recognizer_updated', id, { id, fields: Object.keys(patch) }, { tenantId });
      return updated;
    });
    this.customCache.delete(tenantId);
    return toRecognizer(row);
  }

  async deleteRecognizer(tenantId: string, id: string): Promise<void> {
    await this.platform.transaction(async (tx) => {
      const deleted = await tx
        .deleteFrom('privacy_recognizers')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .returning('id')
        .executeTakeFirst();
      if (!deleted) throw notFound('Recognizer');
      await this.platform.events.emit(tx, 'anonymization.recognizer_deleted', id, { id }, { tenantId });
    });
    this.customCache.delete(tenantId);
  }
}

/** 409 when the tenant already has a recognizer called `name`. */
async function assertRecognizerNameFree(tx: Executor, tenantId: string, name: string): Promise<void> {
  const dup = await tx
    .selectFrom('privacy_recognizers')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('name', '=', name)
    .executeTakeFirst();
  if (dup) throw conflict(`A recognizer named '${name}' exists`);
}
