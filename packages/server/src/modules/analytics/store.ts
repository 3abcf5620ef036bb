import type { AnalyticsEvent, AnalyticsEventsQuery } from '@loam/api';
import type { Insertable, Selectable } from 'kysely';
import type { Signer } from '../../platform/crypto/index.js';
import { type Executor, fromJson } from '../../platform/db/index.js';
import { rfc3339 } from '../../platform/http/context.js';
import { pageById } from '../../platform/http/pagination.js';
import type { AnalyticsEventsTable } from './tables.js';

/** The one stored → wire mapping of `analytics_events`. */
export function toAnalyticsEvent(row: Selectable<AnalyticsEventsTable>): AnalyticsEvent {
  return {
    id: row.id,
    type: row.type,
    subject: row.subject,
    value: row.value === null ? null : Number(row.value),
    properties: fromJson<Record<string, unknown>>(row.properties),
    time: rfc3339(row.time),
    created_by: row.created_by,
    created_at: rfc3339(row.created_at),
  };
}

/** SQL on `analytics_events`. Every query names the tenant. */
export class AnalyticsStore {
  constructor(private readonly db: Executor) {}

  async insert(tx: Executor, row: Insertable<AnalyticsEventsTable>): Promise<void> {
    await tx.insertInto('analytics_events').values(row).execute();
  }

  async page(tenantId: string, q: AnalyticsEventsQuery, signer: Signer) {
    const scoped = () => {
      let s = this.db.selectFrom('analytics_events').where('tenant_id', '=', tenantId);
      if (q.type) s = s.where('type', '=', q.type);
      if (q.subject) s = s.where('subject', '=', q.subject);
      if (q.since) s = s.where('time', '>=', Date.parse(q.since));
      if (q.until) s = s.where('time', '<=', Date.parse(q.until));
      return s;
    };
    const scope = `analytics:${tenantId}:${q.type ?? ''}:${q.subject ?? ''}:${q.since ?? ''}:${q.until ?? ''}`;
    const { items, pagination } = await pageById(
      scoped().selectAll(),
      q,
      signer,
      scope,
      scoped().select((eb) => eb.fn.countAll<number>().as('n')),
    );
    return { items: items.map(toAnalyticsEvent), pagination };
  }
}
