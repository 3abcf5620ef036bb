import {
  ANALYTICS_MAX_PROPERTIES_BYTES,
  type AnalyticsEvent,
  type AnalyticsEventsQuery,
  type CreateAnalyticsEvent,
  type MetricsSummary,
} from '@loam/api';
import type { RequestContext } from '../../platform/context.js';
import { toJson } from '../../platform/db/index.js';
import { AppError, forbidden } from '../../platform/errors.js';
import type { Platform } from '../../platform/index.js';
import { PLATFORM_ADMIN } from '../../platform/principal.js';
import { metricsSummary } from './metrics.js';
import { AnalyticsStore, toAnalyticsEvent } from './store.js';

/** The analytics hub: custom events per tenant, and the operational metrics summary for operators. */
export class AnalyticsService {
  private readonly store: AnalyticsStore;

  constructor(private readonly platform: Platform) {
    this.store = new AnalyticsStore(platform.database.db);
  }

  async record(ctx: RequestContext, input: CreateAnalyticsEvent): Promise<AnalyticsEvent> {
    const id = this.platform.ids.new('aev');
    await this.platform.access.check(ctx, 'analytics:write', { type: 'AnalyticsEvent', id, tenantId: ctx.tenantId });
    const properties = toJson(input.properties ?? {});
    if (Buffer.byteLength(properties) > ANALYTICS_MAX_PROPERTIES_BYTES)
      throw new AppError('validation_error', 400, `properties exceed ${ANALYTICS_MAX_PROPERTIES_BYTES} bytes of JSON`, [
        { field: 'properties', code: 'too_large', message: `at most ${ANALYTICS_MAX_PROPERTIES_BYTES} bytes` },
      ]);
    if (input.value !== undefined && !Number.isFinite(input.value))
      throw new AppError('validation_error', 400, 'value must be a finite number');
    const now = this.platform.clock.now();
    const row = {
      id,
      tenant_id: ctx.tenantId,
      type: input.type,
      subject: input.subject ?? null,
      value: input.value ?? null,
      properties,
      time: input.time ? Date.parse(input.time) : now,
      created_by: ctx.principal.subject,
      created_at: now,
    };
    await this.platform.transaction(async (tx) => {
      await this.store.insert(tx, row);
      await this.platform.events.emit(
        tx,
        'analytics.recorded',
        id,
        { id, type: row.type, subject: row.subject },
        { tenantId: ctx.tenantId },
      );
    });
    return toAnalyticsEvent(row);
  }

  async list(ctx: RequestContext, q: AnalyticsEventsQuery) {
    await this.platform.access.check(ctx, 'analytics:read', { type: 'AnalyticsEvent', id: '*', tenantId: ctx.tenantId });
    return this.store.page(ctx.tenantId, q, this.platform.signer);
  }

  /** Instance-wide, so platform admins only. */
  async metrics(ctx: RequestContext): Promise<MetricsSummary> {
    if (!ctx.principal.roles.includes(PLATFORM_ADMIN)) throw forbidden('Only platform admins read the operational metrics');
    return metricsSummary(this.platform.metrics, this.platform.clock.now());
  }
}
