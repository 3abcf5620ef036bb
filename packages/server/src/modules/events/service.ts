import {
  type CloudEventJson,
  EVENT_CATALOGUE,
  type Pagination,
  EVENT_TYPE_PREFIX,
  type EventType,
  RETENTION_DAYS,
  eventTypeSpec,
} from '@loam/api';
import type { RequestContext } from '../../platform/context.js';
import { AppError, notFound } from '../../platform/errors.js';
import { invalidCursor } from '../../platform/http/context.js';
import { type PageRequest, keysetPage } from '../../platform/http/pagination.js';
import type { CloudEvent } from '../../platform/events/outbox.js';
import type { Platform } from '../../platform/module.js';
import { EventHub, type EventSink, type EventSubscription } from './hub.js';
import { type EventFilter, EventStore, type LoggedEvent, ORIGIN, type Position, formatPosition, parsePosition } from './store.js';

/** Where `dataschema` points: the catalogue entry of the type, versioned. */
export const dataschemaOf = (type: string): string | undefined => {
  const spec = eventTypeSpec(type);
  return spec ? `https://loam.dev/schemas/events/${spec.name}/${spec.version}.json` : undefined;
};

/** The CloudEvent as it leaves Loam: with `dataschema` (cataloged types) and its log position. */
export function toCloudEventJson(e: CloudEvent, position?: Position): CloudEventJson {
  const dataschema = dataschemaOf(e.type);
  return { ...e, ...(dataschema ? { dataschema } : {}), ...(position ? { position: formatPosition(position) } : {}) };
}

export const eventTypes = (): EventType[] =>
  EVENT_CATALOGUE.map((t) => ({
    type: EVENT_TYPE_PREFIX + t.name,
    name: t.name,
    ...(t.seedName ? { seed_name: t.seedName } : {}),
    description: t.description,
    version: t.version,
    retention: t.retention,
    retention_days: RETENTION_DAYS[t.retention],
    dataschema: dataschemaOf(t.name) as string,
    schema: t.schema as unknown as Record<string, unknown>,
  }));

const eventsResource = (tenantId: string, id = '*') => ({ type: 'Event', id, tenantId });

/** The query parameters every reader shares, parsed: type patterns, subject, time range. */
export function parseFilter(q: { type?: string; subject?: string; since?: string; until?: string }): EventFilter {
  const types = q.type
    ?.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (types?.some((t) => !/^[a-z0-9_.*]{1,128}$/.test(t)))
    throw new AppError('invalid_param', 400, 'type: each pattern is lower-case letters, digits, `.`, `_` and `*`');
  if (types && types.length > 20) throw new AppError('invalid_param', 400, 'type: at most 20 patterns');
  const time = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) throw new AppError('invalid_param', 400, `${name}: not an RFC 3339 time`);
    return ms;
  };
  return {
    ...(types?.length ? { types } : {}),
    ...(q.subject !== undefined ? { subject: q.subject } : {}),
    ...(q.since !== undefined ? { since: time('since', q.since) } : {}),
    ...(q.until !== undefined ? { until: time('until', q.until) } : {}),
  };
}

/** The event log of a tenant: list, get, stream (see hub.ts), and retention. */
export class EventService {
  readonly store: EventStore;
  readonly hub: EventHub;
  private unwake: (() => void) | undefined;

  constructor(private readonly platform: Platform) {
    this.store = new EventStore(platform.database);
    this.hub = new EventHub(this.store, platform.log.child({ component: 'events' }), platform.config.eventsStreamPollMs);
  }

  start(): void {
    this.unwake = this.platform.events.onWake(this.hub.poke);
  }

  stop(): void {
    this.unwake?.();
    this.hub.closeAll();
  }

  /** One page of the tenant's events in log order (a cursor holds a position). */
  async list(ctx: RequestContext, filter: EventFilter, page: PageRequest): Promise<{ items: LoggedEvent[]; pagination: Pagination }> {
    await this.platform.access.check(ctx, 'events:read', eventsResource(ctx.tenantId));
    return keysetPage(page, {
      signer: this.platform.signer,
      scope: `events:${ctx.tenantId}`,
      fetch: (from, reverse, n) => {
        const at = from === undefined ? ORIGIN : typeof from[0] === 'string' ? parsePosition(from[0]) : undefined;
        if (!at) throw invalidCursor();
        return this.store.after(ctx.tenantId, at, filter, n, reverse);
      },
      keyOf: (e) => [formatPosition(e.position)],
    });
  }

  async get(ctx: RequestContext, id: string): Promise<LoggedEvent> {
    await this.platform.access.check(ctx, 'events:read', eventsResource(ctx.tenantId, id));
    const found = await this.store.get(ctx.tenantId, id);
    if (!found) throw notFound('Event');
    return found;
  }

  /** Starts handing `sink` the tenant's events after `after` (a position text, or the start). */
  async subscribe(ctx: RequestContext, after: string | undefined, filter: EventFilter, sink: EventSink): Promise<EventSubscription> {
    await this.platform.access.check(ctx, 'events:read', eventsResource(ctx.tenantId));
    let start = ORIGIN;
    if (after !== undefined) {
      const p = parsePosition(after);
      if (!p) throw new AppError('invalid_param', 400, 'Last-Event-ID / after: not an event position');
      start = p;
    } else if (filter.since === undefined) {
      // Neither a position nor a time: live events only, from the newest position on.
      start = await this.store.head();
    }
    return this.hub.subscribe(ctx.tenantId, start, filter, sink);
  }

  /** Deletes events past their retention class; returns how many. */
  async purge(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.store.purge(this.platform.clock.now(), 5000);
      total += n;
      if (n < 5000) return total;
    }
  }
}
