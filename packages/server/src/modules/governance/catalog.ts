import type { CatalogEntry, CatalogQuery } from '@loam/api';
import type { Access } from '../../platform/access.js';
import type { RequestContext } from '../../platform/context.js';
import { fromJson } from '../../platform/db/index.js';
import { rfc3339 } from '../../platform/http/context.js';
import type { GovernanceStore } from './store.js';

type Candidate = Awaited<ReturnType<GovernanceStore['catalogCandidates']>>[number];

/** A dataset's attributes as the datasets module describes them to the access check (`datasetResource`). */
export function datasetAttributes(row: { classification: string; owner: string | null; name: string; status: string; tags: string }) {
  return { classification: row.classification, owner: row.owner ?? '', name: row.name, status: row.status, tags: row.tags };
}

/** Where `query` (lower case) occurs in a dataset: its name, description, a tag, a schema field name. */
function matches(row: Candidate, query: string, tags: string[], fields: string[]): string[] {
  if (!query) return [];
  const has = (s: string | null) => (s ?? '').toLowerCase().includes(query);
  const out: string[] = [];
  if (has(row.name)) out.push('name');
  if (has(row.description)) out.push('description');
  if (tags.some(has)) out.push('tags');
  if (fields.some(has)) out.push('fields');
  return out;
}

/**
 * The registry's dataset discovery: the datasets of the caller's tenant it may read (the access
 * check's `datasets:read` on each, as `GET /api/v1/datasets/{id}` asks it) whose name,
 * description, tags or schema field names contain the query, each with its versions' checksum,
 * record count and schema version.
 */
export async function searchCatalog(store: GovernanceStore, access: Access, ctx: RequestContext, q: CatalogQuery): Promise<CatalogEntry[]> {
  const query = (q.query ?? '').trim().toLowerCase();
  const limit = q.limit ?? 50;
  const found: { row: Candidate; tags: string[]; fields: string[]; matched: string[] }[] = [];
  for (const row of await store.catalogCandidates(ctx.tenantId, query)) {
    const tags = fromJson<string[]>(row.tags);
    const fields = (fromJson<{ fields?: { name: string }[] }>(row.schema).fields ?? []).map((f) => f.name);
    const matched = matches(row, query, tags, fields);
    if (query && matched.length === 0) continue; // the schema text matched a type or a description, not a field name
    const resource = {
      type: 'Dataset',
      id: row.id,
      tenantId: row.tenant_id,
      attributes: datasetAttributes(row),
    };
    if (!(await access.allows(ctx, 'datasets:read', resource))) continue;
    found.push({ row, tags, fields, matched });
    if (found.length === limit) break;
  }
  const versions = await store.versions(
    ctx.tenantId,
    found.map((f) => f.row.id),
  );
  return found.map(({ row, tags, fields, matched }) => {
    let schemaVersion = 0;
    let lastSchema: string | undefined;
    const own = [];
    for (const v of versions) {
      if (v.dataset_id !== row.id || (v.status as string) === 'draft') continue;
      const schema = JSON.stringify(fromJson(v.schema));
      if (schema !== lastSchema) schemaVersion++;
      lastSchema = schema;
      own.push({
        id: v.id,
        number: v.number,
        name: v.name,
        checksum: v.checksum,
        record_count: v.record_count,
        schema_version: schemaVersion,
        created_at: rfc3339(v.created_at),
      });
    }
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      tags,
      classification: row.classification,
      fields,
      matched,
      record_count: Number(row.record_count),
      versions: own,
      updated_at: rfc3339(row.updated_at),
    };
  });
}
