import { type Expression, sql } from 'kysely';
import type { Executor } from '../../platform/db/index.js';
import type { SqlDialect } from '../../platform/db/dialect/index.js';

/** At most this many datasets match a catalogue query's SQL pre-filter (then access and exact matching). */
export const CATALOG_SCAN = 1000;

/**
 * Read-only evidence for compliance reports. Governance owns no tables: it reads what the other
 * modules keep (through the typed `Database`), never writes them.
 */
export class GovernanceStore {
  constructor(
    private readonly db: Executor,
    private readonly dialect: SqlDialect,
  ) {}

  /**
   * Active datasets whose name, description, tags or schema text contain `query` (any case),
   * newest change first: the candidates the catalogue then matches exactly and filters by access.
   */
  catalogCandidates(tenantId: string, query: string) {
    let q = this.db
      .selectFrom('datasets')
      .select([
        'id',
        'tenant_id',
        'name',
        'description',
        'tags',
        'schema',
        'classification',
        'owner',
        'status',
        'record_count',
        'updated_at',
      ])
      .where('tenant_id', '=', tenantId)
      .where('status', '=', 'active');
    if (query) {
      const pattern = `%${query.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const like = (e: Expression<unknown>) => sql<boolean>`lower(${e}) like ${pattern} escape '\\'`;
      q = q.where((eb) =>
        eb.or([
          like(sql.ref('name')),
          like(sql`coalesce(${sql.ref('description')}, '')`),
          like(this.dialect.jsonText(sql.ref('tags'), [])),
          like(this.dialect.jsonText(sql.ref('schema'), [])),
        ]),
      );
    }
    return q.orderBy('updated_at', 'desc').orderBy('id').limit(CATALOG_SCAN).execute();
  }

  /** The versions of `datasetIds`, oldest first per dataset. */
  versions(tenantId: string, datasetIds: string[]) {
    if (datasetIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('dataset_versions')
      .select(['id', 'dataset_id', 'number', 'name', 'status', 'checksum', 'record_count', 'schema', 'created_at'])
      .where('tenant_id', '=', tenantId)
      .where('dataset_id', 'in', datasetIds)
      .orderBy('dataset_id')
      .orderBy('number')
      .execute();
  }

  datasets(tenantId: string, datasetId?: string) {
    let q = this.db
      .selectFrom('datasets')
      .select(['id', 'name', 'schema', 'classification', 'insert_policy'])
      .where('tenant_id', '=', tenantId)
      .where('status', '=', 'active');
    if (datasetId) q = q.where('id', '=', datasetId);
    return q.orderBy('id').limit(500).execute();
  }

  /** A dataset's row as the datasets module's access check describes it (`datasetResource`). */
  dataset(tenantId: string, id: string) {
    return this.db
      .selectFrom('datasets')
      .select(['id', 'tenant_id', 'classification', 'owner', 'name', 'status', 'tags'])
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** Up to `n` current records of a dataset, their stored JSON as kept (encrypted fields included). */
  async sampleRecords(tenantId: string, datasetId: string, n: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('dataset_records')
      .select('data')
      .where('tenant_id', '=', tenantId)
      .where('dataset_id', '=', datasetId)
      .where('valid_to', 'is', null)
      .orderBy('row_id', 'desc')
      .limit(n)
      .execute();
    return rows.map((r) => String(r.data));
  }

  /** Audit entries of the period by action family (access.*, others). */
  async auditCounts(tenantId: string, from: number, to: number) {
    const rows = await this.db
      .selectFrom('audit_log')
      .select(['action', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('tenant_id', '=', tenantId)
      .where('time', '>=', from)
      .where('time', '<=', to)
      .groupBy('action')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.action, Number(r.n)]));
  }

  async retentionRules(tenantId: string): Promise<number> {
    const row = await this.db
      .selectFrom('bus_retention')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  exports(tenantId: string, from: number, to: number, datasetIds: string[]) {
    if (datasetIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('dataset_exports')
      .select(['id', 'dataset_id', 'status', 'created_at'])
      .where('tenant_id', '=', tenantId)
      .where('dataset_id', 'in', datasetIds)
      .where('created_at', '>=', from)
      .where('created_at', '<=', to)
      .execute();
  }

  overspentBudgets(tenantId: string) {
    return this.db
      .selectFrom('privacy_budgets')
      .select(['subject', 'epsilon_total', 'epsilon_spent'])
      .where('tenant_id', '=', tenantId)
      .where(sql<boolean>`epsilon_spent > epsilon_total`)
      .execute();
  }

  async budgetCount(tenantId: string): Promise<number> {
    const row = await this.db
      .selectFrom('privacy_budgets')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  dataKeys(tenantId: string) {
    return this.db.selectFrom('data_keys').select(['id', 'scope', 'created_at', 'rotated_at']).where('tenant_id', '=', tenantId).execute();
  }

  /** Live API keys granting everything (`*` scope or an admin role). */
  broadKeys(tenantId: string) {
    return this.db
      .selectFrom('api_keys')
      .select(['id', 'name', 'scopes', 'roles'])
      .where('tenant_id', '=', tenantId)
      .where('revoked_at', 'is', null)
      .execute();
  }
}
