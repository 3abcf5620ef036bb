import { createHash } from 'node:crypto';
import type { CreateVersion, DatasetVersion, FieldChange, Pagination, UpdateVersion, VersionDiff } from '@loam/api';
import { sql } from 'kysely';
import { fromJson, toJson } from '../../../platform/db/index.js';
import { invalidCursor } from '../../../platform/http/context.js';
import { checkIfMatch, preconditionFailed } from '../../../platform/http/etag.js';
import { AppError, notFound } from '../../../platform/http/errors.js';
import { type PageRequest, pageById } from '../../../platform/http/pagination.js';
import type { Principal } from '../../../platform/principal.js';
import { fieldChanges } from '../records.js';
import { DERIVING_RELATIONS, type DatasetCore, SCAN_PAGE, type VersionRef, resourceETag, toVersion } from './core.js';

/** Finalized versions of a dataset: immutable, copy-free snapshots of the draft, and their diffs. */
export class VersionService {
  constructor(private readonly core: DatasetCore) {}

  async finalize(principal: Principal, id: string, input: CreateVersion): Promise<DatasetVersion> {
    await this.core.authorizeWrite(principal, id);
    const tenantId = principal.tenantId;
    const versionId = this.core.platform.ids.new('ver');
    await this.core.platform.transaction(async (tx) => {
      // The exclusive lock waits for record writes in flight (they hold a share lock), so nothing
      // lands in the draft between counting and closing it.
      const row = await this.core.loadDataset(tx, tenantId, id, 'update');
      this.core.assertActive(row);
      const number = Number(row.draft_number);
      const hashes: string[] = [];
      for await (const page of this.core.liveRows(tx, id, 'hash', SCAN_PAGE * 4)) for (const r of page) hashes.push(r.hash);
      hashes.sort();
      const checksum = createHash('sha256');
      for (const h of hashes) checksum.update(h).update('\n');
      const now = this.core.platform.clock.now();
      await tx
        .insertInto('dataset_versions')
        .values({
          id: versionId,
          tenant_id: tenantId,
          dataset_id: id,
          number,
          name: input.name ?? null,
          description: input.description ?? null,
          tags: toJson(input.tags ?? []),
          status: 'finalized',
          record_count: hashes.length,
          checksum: checksum.digest('hex'),
          schema: row.schema,
          resource_version: 1,
          created_at: now,
          updated_at: now,
        })
        .execute();
      await tx
        .updateTable('datasets')
        .set({ draft_number: number + 1, resource_version: Number(row.resource_version) + 1, updated_at: now })
        .where('id', '=', id)
        .execute();
      await this.core.emit(
        tx,
        'version.finalized',
        versionId,
        { id: versionId, dataset_id: id, number, record_count: hashes.length },
        tenantId,
        id,
      );
    });
    return this.getVersion(principal, id, versionId, { skipAuth: true });
  }

  async getVersion(principal: Principal, id: string, vid: string, opts: { skipAuth?: boolean } = {}): Promise<DatasetVersion> {
    if (!opts.skipAuth) await this.core.authorize(principal, id, 'datasets:read');
    const row = await this.core.db
      .selectFrom('dataset_versions')
      .selectAll()
      .where('tenant_id', '=', principal.tenantId)
      .where('dataset_id', '=', id)
      .where('id', '=', vid)
      .executeTakeFirst();
    if (!row) throw notFound('Version');
    return toVersion(row);
  }

  async listVersions(principal: Principal, id: string, page: PageRequest) {
    await this.core.authorize(principal, id, 'datasets:read');
    const { items, pagination } = await pageById(
      this.core.db.selectFrom('dataset_versions').selectAll().where('dataset_id', '=', id),
      page,
      this.core.platform.signer,
      `versions:${id}`,
      this.core.db
        .selectFrom('dataset_versions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('dataset_id', '=', id),
    );
    return { items: items.map(toVersion), pagination };
  }

  async updateVersion(principal: Principal, id: string, vid: string, input: UpdateVersion, ifMatch?: string[]): Promise<DatasetVersion> {
    await this.core.authorizeWrite(principal, id);
    await this.core.platform.transaction(async (tx) => {
      const row = await tx.selectFrom('dataset_versions').selectAll().where('dataset_id', '=', id).where('id', '=', vid).executeTakeFirst();
      if (!row) throw notFound('Version');
      checkIfMatch(ifMatch, resourceETag(Number(row.resource_version)), 'version');
      const set: Record<string, unknown> = {};
      if (input.description !== undefined) set.description = input.description;
      if (input.tags !== undefined) set.tags = toJson(input.tags);
      if (Object.keys(set).length === 0) return;
      const updated = await tx
        .updateTable('dataset_versions')
        .set({ ...set, resource_version: Number(row.resource_version) + 1, updated_at: this.core.platform.clock.now() })
        .where('id', '=', vid)
        .where('resource_version', '=', row.resource_version)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) throw preconditionFailed('version');
      await this.core.emit(tx, 'version.updated', vid, { id: vid, dataset_id: id, changed: Object.keys(set) }, principal.tenantId, id);
    });
    return this.getVersion(principal, id, vid, { skipAuth: true });
  }

  async deprecateVersion(principal: Principal, id: string, vid: string): Promise<DatasetVersion> {
    await this.core.authorizeWrite(principal, id);
    await this.core.platform.transaction(async (tx) => {
      const row = await tx.selectFrom('dataset_versions').selectAll().where('dataset_id', '=', id).where('id', '=', vid).executeTakeFirst();
      if (!row) throw notFound('Version');
      if (row.status === 'deprecated') return;
      const now = this.core.platform.clock.now();
      await tx
        .updateTable('dataset_versions')
        .set({ status: 'deprecated', deprecated_at: now, updated_at: now, resource_version: Number(row.resource_version) + 1 })
        .where('id', '=', vid)
        .execute();
      await this.core.emit(tx, 'version.deprecated', vid, { id: vid, dataset_id: id, number: Number(row.number) }, principal.tenantId, id);
    });
    return this.getVersion(principal, id, vid, { skipAuth: true });
  }

  async deleteVersion(principal: Principal, id: string, vid: string, ifMatch?: string[]): Promise<void> {
    await this.core.authorizeWrite(principal, id);
    await this.core.platform.transaction(async (tx) => {
      await this.core.loadDataset(tx, principal.tenantId, id, 'update');
      const row = await tx.selectFrom('dataset_versions').selectAll().where('dataset_id', '=', id).where('id', '=', vid).executeTakeFirst();
      if (!row) throw notFound('Version');
      checkIfMatch(ifMatch, resourceETag(Number(row.resource_version)), 'version');
      const derived = await tx
        .selectFrom('dataset_lineage_edges')
        .select(['to_id', 'relation'])
        .where('from_id', '=', vid)
        .where('relation', 'in', DERIVING_RELATIONS)
        .execute();
      if (derived.length > 0)
        throw new AppError(
          'conflict',
          409,
          `Version ${vid} cannot be deleted: ${[...new Set(derived.map((d) => d.to_id))].join(', ')} derive${derived.length === 1 ? 's' : ''} from it`,
        );
      await tx.deleteFrom('dataset_versions').where('id', '=', vid).execute();
      // Row versions no remaining version (nor the draft) can see are garbage now.
      await sql`
        DELETE FROM dataset_records
        WHERE dataset_id = ${id} AND valid_to IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM dataset_versions v
                          WHERE v.dataset_id = dataset_records.dataset_id
                            AND v.number >= dataset_records.valid_from AND v.number < dataset_records.valid_to)`.execute(tx);
      await this.core.emit(tx, 'version.deleted', vid, { id: vid, dataset_id: id, number: Number(row.number) }, principal.tenantId, id);
    });
  }

  async diff(
    principal: Principal,
    id: string,
    fromId: string,
    toId: string,
    opts: { limit?: number; cursor?: string; fields?: boolean },
  ): Promise<{ diff: VersionDiff; pagination: Pagination; next?: string }> {
    const ds = await this.core.authorize(principal, id, 'datasets:read');
    const a = await this.core.resolveVersion(ds, fromId);
    const b = await this.core.resolveVersion(ds, toId);
    const limit = opts.limit ?? 100;
    const scope = `diff:${id}:${fromId}:${toId}`;
    let after: string | undefined;
    if (opts.cursor) {
      const c = this.core.platform.signer.verify<{ after: string }>(opts.cursor, `cursor:${scope}`);
      if (!c || typeof c.after !== 'string') throw invalidCursor();
      after = c.after;
    }
    const va = this.core.visibleAt(a);
    const vb = this.core.visibleAt(b);
    const ha = sql`MAX(CASE WHEN ${va} THEN hash END)`;
    const hb = sql`MAX(CASE WHEN ${vb} THEN hash END)`;
    const { rows } = await sql<{ id: string; ha: string | null; hb: string | null }>`
      SELECT id, ${ha} AS ha, ${hb} AS hb
      FROM dataset_records
      WHERE dataset_id = ${id} AND (${va} OR ${vb}) ${after ? sql`AND id > ${after}` : sql``}
      GROUP BY id
      HAVING ${ha} IS NULL OR ${hb} IS NULL OR ${ha} <> ${hb}
      ORDER BY id
      LIMIT ${limit + 1}`.execute(this.core.db);
    const hasMore = rows.length > limit;
    const page = hasMore ? rows.slice(0, limit) : rows;
    const diff: VersionDiff = { from: fromId, to: toId, added: [], removed: [], modified: [] };
    for (const r of page) {
      if (r.ha == null) diff.added.push(r.id);
      else if (r.hb == null) diff.removed.push(r.id);
      else diff.modified.push(r.id);
    }
    if (opts.fields && diff.modified.length > 0) {
      const dataAt = async (v: VersionRef) => {
        const got = await this.core.db
          .selectFrom('dataset_records')
          .select(['id', 'data'])
          .where('dataset_id', '=', id)
          .where('id', 'in', diff.modified)
          .where(this.core.visibleAt(v))
          .execute();
        const opened = await this.core.protection.open(undefined, v.tenantId, id, v.encrypted, got);
        return new Map(opened.map((g) => [g.id as string, fromJson<Record<string, unknown>>(g.data)]));
      };
      const before = await dataAt(a);
      const afterData = await dataAt(b);
      const changes: Record<string, FieldChange[]> = {};
      for (const rid of diff.modified) changes[rid] = fieldChanges(before.get(rid) ?? {}, afterData.get(rid) ?? {});
      diff.changes = changes;
    }
    const next = hasMore ? this.core.platform.signer.sign({ after: page[page.length - 1].id }, `cursor:${scope}`) : undefined;
    await this.core.auditRead(principal, ds, 'versions.diff', { from: fromId, to: toId });
    return { diff, pagination: { has_more: hasMore, page_size: page.length, ...(next ? { cursor: next } : {}) }, next };
  }
}
