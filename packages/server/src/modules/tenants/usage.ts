import type { TenantUsage as TenantUsageReport } from '@loam/api';
import { sql } from 'kysely';
import type { Executor, Platform } from '../../platform/index.js';
import type { QuotaResource } from '../../platform/module.js';
import type { Tenant, TenantStore } from './store.js';

const FLUSH_MS = 5_000;
const DAY_MS = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Usage per tenant: requests (and anonymization requests) counted in memory and added to
 * `tenant_usage_daily` every few seconds, and what the tenant stores, counted on demand from the
 * modules' tables (quota checks ask only for a resource whose quota is set).
 */
export class TenantUsage {
  private pending = new Map<string, { tenantId: string; day: string; requests: number; anonymizations: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly platform: Platform,
    private readonly store: TenantStore,
  ) {}

  /** What the tenant holds of `resource`. */
  count(tenantId: string, resource: QuotaResource, db: Executor = this.platform.database.db): Promise<number> {
    return countOf(db, tenantId, resource);
  }

  /** Counts one request of the tenant (an anonymization when `anonymization`). */
  request(tenantId: string, anonymization: boolean): void {
    const day = dayOf(this.platform.clock.now());
    const key = `${tenantId}|${day}`;
    let row = this.pending.get(key);
    if (!row) {
      row = { tenantId, day, requests: 0, anonymizations: 0 };
      this.pending.set(key, row);
    }
    row.requests++;
    if (anonymization) row.anonymizations++;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.flush().catch((err) => this.platform.log.warn({ err: { message: (err as Error).message } }, 'tenant usage flush failed'));
    }, FLUSH_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush().catch(() => {});
  }

  /** Adds the counted requests to the daily rows (rows of tenants erased meanwhile are dropped). */
  async flush(): Promise<void> {
    const rows = [...this.pending.values()];
    this.pending = new Map();
    for (const row of rows) {
      try {
        await this.store.addUsage(this.platform.database.db, [row]);
      } catch {
        // The tenant no longer exists (erased): nothing to record.
      }
    }
  }

  async report(tenant: Tenant, days: number): Promise<TenantUsageReport> {
    await this.flush();
    const db = this.platform.database.db;
    const today = this.platform.clock.now();
    const from = dayOf(today - (days - 1) * DAY_MS);
    const [requests, tokens] = await Promise.all([
      this.store.usageDays(db, tenant.id, from),
      db
        .selectFrom('llm_usage_daily')
        .select([
          'day',
          (eb) => eb.fn.sum<number | string>('input_tokens').as('input'),
          (eb) => eb.fn.sum<number | string>('output_tokens').as('output'),
        ])
        .where('tenant_id', '=', tenant.id)
        .where('day', '>=', from)
        .groupBy('day')
        .execute(),
    ]);
    const byDay = new Map<string, TenantUsageReport['days'][number]>();
    const at = (day: string) => {
      let d = byDay.get(day);
      if (!d) {
        d = { day, requests: 0, tokens_generated: 0, tokens_input: 0, anonymizations: 0 };
        byDay.set(day, d);
      }
      return d;
    };
    for (const r of requests) Object.assign(at(r.day), { requests: Number(r.requests), anonymizations: Number(r.anonymizations) });
    for (const r of tokens) Object.assign(at(r.day), { tokens_generated: Number(r.output), tokens_input: Number(r.input) });
    const counts = await Promise.all(RESOURCES.map((r) => countOf(db, tenant.id, r)));
    return {
      tenant_id: tenant.id,
      storage_bytes: counts[0],
      content_items: counts[1],
      prompts: counts[2],
      datasets: counts[3],
      records: counts[4],
      quotas: tenant.quotas,
      days: [...byDay.values()].sort((a, b) => a.day.localeCompare(b.day)),
    };
  }
}

const RESOURCES: QuotaResource[] = ['storage_bytes', 'content_items', 'prompts', 'datasets', 'records'];

/** What the tenant holds of `resource`, read from the table of the module that keeps it. */
async function countOf(db: Executor, tenantId: string, resource: QuotaResource): Promise<number> {
  if (resource === 'storage_bytes') {
    const row = await db
      .selectFrom('storage_usage')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number | string>('bytes'), sql<number>`0`).as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }
  const table = ({ content_items: 'content_items', prompts: 'prompts', datasets: 'datasets', records: 'dataset_records' } as const)[
    resource
  ];
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
