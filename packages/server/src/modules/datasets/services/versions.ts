import { createHash } from 'node:crypto';
import type { CreateVersion, DatasetVersion, FieldChange, FinalizeVersion, Pagination, UpdateVersion, VersionDiff } from '@loam/api';
import type { Updateable } from 'kysely';
import type { RequestContext } from '../../../platform/context.js';
import { fromJson, toJson } from '../../../platform/db/index.js';
import { checkIfMatch, preconditionFailed } from '../../../platform/http/etag.js';
import { AppError, notFound } from '../../../platform/errors.js';
import { type PageRequest, keysetPage } from '../../../platform/http/pagination.js';
import type { Tx } from '../../../platform/index.js';
import { fieldChanges } from '../records.js';
import { toVersion } from '../store/index.js';
import type { DatasetRow, DatasetVersionsTable, VersionRow } from '../tables.js';
import {
  ANALYZE_AFTER_RECORDS,
  DERIVING_RELATIONS,
  type DatasetCore,
  type DatasetRef,
  SCAN_PAGE,
  type VersionRef,
  resourceETag,
  scopeOf,
} from './core.js';

/** Finalized versions of a dataset: immutable, copy-free snapshots of the draft, and their diffs. */
export class VersionService {
  constructor(private readonly core: DatasetCore) {}

  /**
   * `POST …/versions`: finalizes the working draft into a version at once, or (`draft: true`)
   * gives the working draft a version id first, finalized later by `finalizeDraft`. A dataset has
   * at most one draft version; while it is open, versions are made by finalizing it.
   */
  async finalize(ctx: RequestContext, id: string, input: CreateVersion): Promise<DatasetVersion> {
    const ds = await this.core.authorizeWrite(ctx, id);
    const tenantId = ctx.tenantId;
    const versionId = this.core.platform.ids.new('ver');
    await this.core.checkVersion(ctx, ds, 'datasets:write', { id: versionId, number: ds.row.draft_number });
    const written = await this.core.platform.transaction(async (tx) => {
      const row = await this.core.loadDataset(tx, tenantId, id, 'update');
      this.core.assertActive(row);
      const open = await this.core.store.versions.openDraft(tx, tenantId, id);
      if (open)
        throw new AppError(
          'conflict',
          409,
          `Dataset ${id} has a draft version ${open.id}: finalize it (POST …/versions/${open.id}/finalize) or delete it first`,
        );
      const now = this.core.platform.clock.now();
      await this.core.store.versions.insert(tx, {
        id: versionId,
        tenant_id: tenantId,
        dataset_id: id,
        number: row.draft_number,
        name: input.name ?? null,
        description: input.description ?? null,
        tags: toJson(input.tags ?? []),
        status: 'draft',
        record_count: 0,
        checksum: '',
        schema: row.schema,
        resource_version: 1,
        created_at: now,
        updated_at: now,
      });
      const event = { id: versionId, dataset_id: id, number: row.draft_number };
      if (input.draft) {
        await this.core.emit(tx, 'version.created', versionId, { ...event, record_count: 0, status: 'draft' }, tenantId, id);
        return 0;
      }
      const closed = await this.close(tx, row, versionId, {});
      await this.core.emit(tx, 'version.created', versionId, { ...event, record_count: closed.count }, tenantId, id);
      await this.core.emit(tx, 'version.finalized', versionId, { ...event, record_count: closed.count }, tenantId, id);
      return closed.newRows;
    });
    // A large load since the last version: the planner's statistics are stale now.
    if (written >= ANALYZE_AFTER_RECORDS) await this.core.store.indexes.analyze(this.core.db);
    return this.getVersion(ctx, id, versionId, { skipAuth: true });
  }

  /** `POST …/versions/{vid}/finalize`: closes a draft version over the records written since it opened. */
  async finalizeDraft(ctx: RequestContext, id: string, vid: string, input: FinalizeVersion): Promise<DatasetVersion> {
    await this.authorizeChange(ctx, id, vid);
    const written = await this.core.platform.transaction(async (tx) => {
      const row = await this.core.loadDataset(tx, ctx.tenantId, id, 'update');
      this.core.assertActive(row);
      const v = await this.forWrite(tx, ctx, id, vid);
      if (v.status !== 'draft') throw new AppError('conflict', 409, `Version ${vid} is ${v.status}, not a draft`);
      const closed = await this.close(tx, row, vid, input);
      const event = { id: vid, dataset_id: id, number: v.number, record_count: closed.count };
      await this.core.emit(tx, 'version.finalized', vid, event, ctx.tenantId, id);
      return closed.newRows;
    });
    if (written >= ANALYZE_AFTER_RECORDS) await this.core.store.indexes.analyze(this.core.db);
    return this.getVersion(ctx, id, vid, { skipAuth: true });
  }

  /**
   * Finalizes the draft version `versionId` (numbered the dataset's draft number): its record
   * count and checksum over the live rows, the dataset's schema, and a new working draft. Runs
   * under the dataset's exclusive lock, which waits for record writes in flight (they hold a
   * share lock), so nothing lands in the draft between counting and closing it. Returns its
   * record count and the number of rows written since the previous version.
   */
  private async close(tx: Tx, row: DatasetRow, versionId: string, input: FinalizeVersion): Promise<{ count: number; newRows: number }> {
    const { tenant_id: tenantId, id, draft_number: number } = row;
    const hashes: string[] = [];
    let newRows = 0;
    for await (const page of this.core.store.records.liveRows(tx, tenantId, id, 'hash', SCAN_PAGE * 4))
      for (const r of page) {
        hashes.push(r.hash);
        if (r.valid_from === number) newRows++;
      }
    hashes.sort();
    const checksum = createHash('sha256');
    for (const h of hashes) checksum.update(h).update('\n');
    const now = this.core.platform.clock.now();
    const set: Updateable<DatasetVersionsTable> = {
      status: 'finalized',
      record_count: hashes.length,
      checksum: checksum.digest('hex'),
      schema: row.schema,
      updated_at: now,
    };
    if (input.name !== undefined) set.name = input.name;
    if (input.description !== undefined) set.description = input.description;
    if (input.tags !== undefined) set.tags = toJson(input.tags);
    const current = await this.core.store.versions.find(tx, tenantId, id, versionId);
    await this.core.store.versions.update(tx, tenantId, versionId, { ...set, resource_version: (current?.resource_version ?? 0) + 1 });
    await this.core.store.datasets.update(tx, tenantId, id, {
      draft_number: number + 1,
      resource_version: row.resource_version + 1,
      updated_at: now,
    });
    return { count: hashes.length, newRows };
  }

  async getVersion(ctx: RequestContext, id: string, vid: string, opts: { skipAuth?: boolean } = {}): Promise<DatasetVersion> {
    const ds = opts.skipAuth ? undefined : await this.core.authorize(ctx, id, 'datasets:read');
    const row = await this.core.store.versions.find(this.core.db, ctx.tenantId, id, vid);
    if (!row) throw notFound('Version');
    if (ds) await this.check(ctx, ds, 'datasets:read', row);
    return toVersion(row);
  }

  async listVersions(ctx: RequestContext, id: string, page: PageRequest) {
    const ds = await this.core.authorize(ctx, id, 'datasets:read');
    await this.core.checkVersion(ctx, ds, 'datasets:read', { id });
    return this.core.store.versions.page(this.core.db, ctx.tenantId, id, page, this.core.platform.signer);
  }

  private check(ctx: RequestContext, ds: DatasetRef, action: 'datasets:read' | 'datasets:write', row: VersionRow) {
    return this.core.checkVersion(ctx, ds, action, { id: row.id, number: row.number, status: row.status });
  }

  /**
   * Authorizes a change of a version: the dataset, then the version (404 if the dataset has none
   * by that id). Checked before the change's transaction: the check may read policies, and SQLite
   * has one connection.
   */
  private async authorizeChange(ctx: RequestContext, id: string, vid: string): Promise<void> {
    const ds = await this.core.authorizeWrite(ctx, id);
    const row = await this.core.store.versions.find(this.core.db, ctx.tenantId, id, vid);
    if (!row) throw notFound('Version');
    await this.check(ctx, ds, 'datasets:write', row);
  }

  /** The version, in the change's transaction. */
  private async forWrite(tx: Tx, ctx: RequestContext, id: string, vid: string): Promise<VersionRow> {
    const row = await this.core.store.versions.find(tx, ctx.tenantId, id, vid);
    if (!row) throw notFound('Version');
    return row;
  }

  async updateVersion(ctx: RequestContext, id: string, vid: string, input: UpdateVersion, ifMatch?: string[]): Promise<DatasetVersion> {
    await this.authorizeChange(ctx, id, vid);
    await this.core.platform.transaction(async (tx) => {
      const row = await this.forWrite(tx, ctx, id, vid);
      checkIfMatch(ifMatch, resourceETag(row.resource_version), 'version');
      const set: Updateable<DatasetVersionsTable> = {};
      if (input.description !== undefined) set.description = input.description;
      if (input.tags !== undefined) set.tags = toJson(input.tags);
      if (Object.keys(set).length === 0) return;
      const changed = Object.keys(set);
      const now = this.core.platform.clock.now();
      const updated = await this.core.store.versions.update(
        tx,
        ctx.tenantId,
        vid,
        { ...set, resource_version: row.resource_version + 1, updated_at: now },
        row.resource_version,
      );
      if (!updated) throw preconditionFailed('version');
      await this.core.emit(tx, 'version.updated', vid, { id: vid, dataset_id: id, changed }, ctx.tenantId, id);
    });
    return this.getVersion(ctx, id, vid, { skipAuth: true });
  }

  async deprecateVersion(ctx: RequestContext, id: string, vid: string): Promise<DatasetVersion> {
    await this.authorizeChange(ctx, id, vid);
    await this.core.platform.transaction(async (tx) => {
      const row = await this.forWrite(tx, ctx, id, vid);
      if (row.status === 'draft') throw new AppError('conflict', 409, `Version ${vid} is a draft: finalize it before deprecating it`);
      if (row.status === 'deprecated') return;
      const now = this.core.platform.clock.now();
      await this.core.store.versions.update(tx, ctx.tenantId, vid, {
        status: 'deprecated',
        deprecated_at: now,
        updated_at: now,
        resource_version: row.resource_version + 1,
      });
      await this.core.emit(tx, 'version.deprecated', vid, { id: vid, dataset_id: id, number: row.number }, ctx.tenantId, id);
    });
    return this.getVersion(ctx, id, vid, { skipAuth: true });
  }

  async deleteVersion(ctx: RequestContext, id: string, vid: string, ifMatch?: string[]): Promise<void> {
    await this.authorizeChange(ctx, id, vid);
    await this.core.platform.transaction(async (tx) => {
      await this.core.loadDataset(tx, ctx.tenantId, id, 'update');
      const row = await this.forWrite(tx, ctx, id, vid);
      checkIfMatch(ifMatch, resourceETag(row.resource_version), 'version');
      const derived = await this.core.store.lineage.derivedFrom(tx, ctx.tenantId, vid, DERIVING_RELATIONS);
      if (derived.length > 0)
        throw new AppError(
          'conflict',
          409,
          `Version ${vid} cannot be deleted: ${[...new Set(derived)].join(', ')} derive${derived.length === 1 ? 's' : ''} from it`,
        );
      await this.core.store.versions.delete(tx, ctx.tenantId, vid);
      // Row versions no remaining version (nor the draft) can see are garbage now.
      await this.core.store.records.collectGarbage(tx, ctx.tenantId, id);
      await this.core.emit(tx, 'version.deleted', vid, { id: vid, dataset_id: id, number: row.number }, ctx.tenantId, id);
    });
  }

  async diff(
    ctx: RequestContext,
    id: string,
    fromId: string,
    toId: string,
    opts: { limit?: number; cursor?: string; fields?: boolean },
  ): Promise<{ diff: VersionDiff; pagination: Pagination }> {
    const ds = await this.core.authorizeRecords(ctx, id, 'datasets:read');
    const a = await this.core.resolveVersion(ctx, ds, fromId);
    const b = await this.core.resolveVersion(ctx, ds, toId);
    const { items: page, pagination } = await keysetPage(opts, {
      signer: this.core.platform.signer,
      scope: `diff:${id}:${fromId}:${toId}`,
      fetch: (from, reverse, n) =>
        this.core.store.records.diff(this.core.db, scopeOf(a), scopeOf(b), from?.[0] as string | undefined, reverse, n),
      keyOf: (r) => [r.id],
    });
    const diff: VersionDiff = { from: fromId, to: toId, added: [], removed: [], modified: [] };
    for (const r of page) {
      if (r.ha == null) diff.added.push(r.id);
      else if (r.hb == null) diff.removed.push(r.id);
      else diff.modified.push(r.id);
    }
    if (opts.fields && diff.modified.length > 0) {
      const before = await this.dataAt(a, diff.modified);
      const afterData = await this.dataAt(b, diff.modified);
      const changes: Record<string, FieldChange[]> = {};
      for (const rid of diff.modified) changes[rid] = fieldChanges(before.get(rid) ?? {}, afterData.get(rid) ?? {});
      diff.changes = changes;
    }
    await this.core.auditRead(ctx, ds, 'versions.diff', { from: fromId, to: toId });
    return { diff, pagination };
  }

  /** The (decrypted) data of records `ids` in version `v`. */
  private async dataAt(v: VersionRef, ids: string[]): Promise<Map<string, Record<string, unknown>>> {
    const got = await this.core.store.records.dataOf(this.core.db, scopeOf(v), ids);
    const opened = await this.core.protection.open(undefined, v.tenantId, v.datasetId, v.encrypted, got);
    return new Map(opened.map((g) => [g.id, fromJson<Record<string, unknown>>(g.data)]));
  }
}
