import type { PromptVariable } from '@loam/api';
import { type Selectable, sql } from 'kysely';
import { type Executor, fromJson, type SqlDialect, toJson } from '../../platform/db/index.js';
import { pageById } from '../../platform/http/pagination.js';
import type { Signer } from '../../platform/crypto/index.js';
import type { PromptsTable } from './tables.js';

/** One version of a prompt as stored (the latest, or an older one from `prompt_versions`). */
export interface PromptSnapshot {
  id: string;
  tenantId: string;
  name: string;
  description: string;
  template: string;
  modelId: string;
  parameters: Record<string, unknown>;
  variables: PromptVariable[];
  tags: string[];
  version: number;
  /** When the prompt (version 1) was created. */
  createdAt: number;
  /** When this version was written, and by whom. */
  updatedAt: number;
  updatedBy: string;
}

export type PromptContent = Pick<PromptSnapshot, 'name' | 'description' | 'template' | 'modelId' | 'parameters' | 'variables' | 'tags'>;

export interface LabelRow {
  label: string;
  version: number;
  updatedAt: number;
  updatedBy: string;
}

/** A `prompts` row, or a `prompt_versions` row joined with its prompt into the same shape. */
type PromptRow = Selectable<PromptsTable>;

function toSnapshot(row: PromptRow): PromptSnapshot {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    description: row.description,
    template: row.template,
    modelId: row.model_id,
    parameters: fromJson<Record<string, unknown>>(row.parameters),
    variables: fromJson<PromptVariable[]>(row.variables),
    tags: fromJson<string[]>(row.tags),
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}

const contentColumns = (c: PromptContent) => ({
  name: c.name,
  description: c.description,
  template: c.template,
  model_id: c.modelId,
  parameters: toJson(c.parameters),
  variables: toJson(c.variables),
  tags: toJson(c.tags),
});

/** Prompts' SQL. Every query names the tenant. */
export class PromptStore {
  constructor(private readonly dialect: SqlDialect) {}

  /**
   * Serializes prompt creation within a tenant for the rest of `tx`, so two concurrent creates
   * cannot both pass the quota check. SQLite already runs one writer at a time.
   */
  async lockTenant(tx: Executor, tenantId: string): Promise<void> {
    await this.dialect.advisoryTransactionLock(tx, `prompts:${tenantId}`);
  }

  async count(db: Executor, tenantId: string): Promise<number> {
    const row = await db
      .selectFrom('prompts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    return row.n;
  }

  async insert(tx: Executor, p: PromptSnapshot): Promise<void> {
    await tx
      .insertInto('prompts')
      .values({
        id: p.id,
        tenant_id: p.tenantId,
        ...contentColumns(p),
        version: p.version,
        created_at: p.createdAt,
        updated_at: p.updatedAt,
        updated_by: p.updatedBy,
      })
      .execute();
    await this.insertVersion(tx, p);
    await this.replaceTags(tx, p);
  }

  /** Writes `p` as the new latest version (the caller holds the row lock from `latest(…, forUpdate)`). */
  async update(tx: Executor, p: PromptSnapshot): Promise<void> {
    await tx
      .updateTable('prompts')
      .set({ ...contentColumns(p), version: p.version, updated_at: p.updatedAt, updated_by: p.updatedBy })
      .where('tenant_id', '=', p.tenantId)
      .where('id', '=', p.id)
      .execute();
    await this.insertVersion(tx, p);
    await this.replaceTags(tx, p);
  }

  private async insertVersion(tx: Executor, p: PromptSnapshot): Promise<void> {
    await tx
      .insertInto('prompt_versions')
      .values({
        prompt_id: p.id,
        version: p.version,
        tenant_id: p.tenantId,
        ...contentColumns(p),
        created_at: p.updatedAt,
        created_by: p.updatedBy,
      })
      .execute();
  }

  private async replaceTags(tx: Executor, p: PromptSnapshot): Promise<void> {
    await tx.deleteFrom('prompt_tags').where('prompt_id', '=', p.id).execute();
    if (p.tags.length > 0)
      await tx
        .insertInto('prompt_tags')
        .values(p.tags.map((tag) => ({ prompt_id: p.id, tenant_id: p.tenantId, tag })))
        .execute();
  }

  async latest(db: Executor, tenantId: string, id: string, forUpdate = false): Promise<PromptSnapshot | undefined> {
    let q = db.selectFrom('prompts').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id);
    if (forUpdate) q = this.dialect.forUpdate(q);
    const row = await q.executeTakeFirst();
    return row ? toSnapshot(row) : undefined;
  }

  async atVersion(db: Executor, tenantId: string, id: string, version: number): Promise<PromptSnapshot | undefined> {
    const row = await db
      .selectFrom('prompt_versions as v')
      .innerJoin('prompts as p', 'p.id', 'v.prompt_id')
      .select([
        'p.id as id',
        'p.tenant_id as tenant_id',
        'p.created_at as created_at',
        'v.name as name',
        'v.description as description',
        'v.template as template',
        'v.model_id as model_id',
        'v.parameters as parameters',
        'v.variables as variables',
        'v.tags as tags',
        'v.version as version',
        'v.created_at as updated_at',
        'v.created_by as updated_by',
      ])
      .where('p.tenant_id', '=', tenantId)
      .where('p.id', '=', id)
      .where('v.version', '=', version)
      .executeTakeFirst();
    return row ? toSnapshot(row) : undefined;
  }

  async delete(tx: Executor, tenantId: string, id: string): Promise<boolean> {
    const row = await tx.deleteFrom('prompts').where('tenant_id', '=', tenantId).where('id', '=', id).returning('id').executeTakeFirst();
    return row !== undefined;
  }

  /** A page of latest versions matching the filters (keyset on the time-sortable id). */
  async list(
    db: Executor,
    tenantId: string,
    filter: { modelId?: string; tags?: string[] },
    page: { limit: number; cursor?: string },
    signer: Signer,
  ): Promise<{ items: PromptSnapshot[]; next?: string }> {
    const { items, next } = await pageById(this.listQuery(db, tenantId, filter), page, signer, `prompts:${tenantId}`);
    return { items: items.map(toSnapshot), next };
  }

  private listQuery(db: Executor, tenantId: string, filter: { modelId?: string; tags?: string[] }) {
    let q = db.selectFrom('prompts').selectAll().where('tenant_id', '=', tenantId);
    if (filter.modelId !== undefined) q = q.where('model_id', '=', filter.modelId);
    const tags = [...new Set(filter.tags ?? [])];
    if (tags.length > 0) {
      const carryingAll = db
        .selectFrom('prompt_tags')
        .select('prompt_id')
        .where('tenant_id', '=', tenantId)
        .where('tag', 'in', tags)
        .groupBy('prompt_id')
        .having(sql`count(tag)`, '=', tags.length);
      q = q.where('id', 'in', carryingAll);
    }
    return q;
  }

  /** Versions newest first, below `beforeVersion` when given. */
  async versions(
    db: Executor,
    tenantId: string,
    id: string,
    page: { beforeVersion?: number; limit: number },
  ): Promise<{ version: number; createdAt: number; createdBy: string }[]> {
    let q = db
      .selectFrom('prompt_versions')
      .select(['version', 'created_at', 'created_by'])
      .where('tenant_id', '=', tenantId)
      .where('prompt_id', '=', id);
    if (page.beforeVersion !== undefined) q = q.where('version', '<', page.beforeVersion);
    const rows = await q.orderBy('version', 'desc').limit(page.limit).execute();
    return rows.map((r) => ({ version: r.version, createdAt: r.created_at, createdBy: r.created_by }));
  }

  async labels(db: Executor, tenantId: string, id: string): Promise<LabelRow[]> {
    const rows = await db
      .selectFrom('prompt_labels')
      .select(['label', 'version', 'updated_at', 'updated_by'])
      .where('tenant_id', '=', tenantId)
      .where('prompt_id', '=', id)
      .orderBy('label')
      .execute();
    return rows.map((r) => ({ label: r.label, version: r.version, updatedAt: r.updated_at, updatedBy: r.updated_by }));
  }

  async label(db: Executor, tenantId: string, id: string, label: string): Promise<LabelRow | undefined> {
    return (await this.labels(db, tenantId, id)).find((l) => l.label === label);
  }

  async setLabel(tx: Executor, tenantId: string, id: string, l: LabelRow): Promise<void> {
    await tx
      .insertInto('prompt_labels')
      .values({ prompt_id: id, label: l.label, tenant_id: tenantId, version: l.version, updated_at: l.updatedAt, updated_by: l.updatedBy })
      .onConflict((oc) =>
        oc.columns(['prompt_id', 'label']).doUpdateSet({ version: l.version, updated_at: l.updatedAt, updated_by: l.updatedBy }),
      )
      .execute();
  }

  async deleteLabel(tx: Executor, tenantId: string, id: string, label: string): Promise<boolean> {
    const row = await tx
      .deleteFrom('prompt_labels')
      .where('tenant_id', '=', tenantId)
      .where('prompt_id', '=', id)
      .where('label', '=', label)
      .returning('label')
      .executeTakeFirst();
    return row !== undefined;
  }
}
