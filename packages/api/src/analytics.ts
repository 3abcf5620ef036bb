import { type Static, Type } from '@sinclair/typebox';
import { ListQuery, Timestamp } from './common.js';

/** Largest `properties` object of one analytics event, as JSON. */
export const ANALYTICS_MAX_PROPERTIES_BYTES = 16_384;

export const CreateAnalyticsEvent = Type.Object(
  {
    type: Type.String({ pattern: '^[a-z][a-z0-9_.-]{0,99}$', description: 'e.g. quality.score, lineage.note' }),
    subject: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'What it is about: a dataset id, a version id, a URL, …' }),
    ),
    value: Type.Optional(Type.Number({ description: 'A measure (a quality score, a count, a duration)' })),
    properties: Type.Optional(
      Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), {
        description: `Free-form details, at most ${ANALYTICS_MAX_PROPERTIES_BYTES} bytes of JSON`,
      }),
    ),
    time: Type.Optional(Type.String({ format: 'date-time', description: 'When it happened (default: now)' })),
  },
  { additionalProperties: false },
);
export type CreateAnalyticsEvent = Static<typeof CreateAnalyticsEvent>;

export const AnalyticsEvent = Type.Object({
  id: Type.String(),
  type: Type.String(),
  subject: Type.Union([Type.String(), Type.Null()]),
  value: Type.Union([Type.Number(), Type.Null()]),
  properties: Type.Record(Type.String(), Type.Unknown()),
  time: Type.String(),
  created_by: Type.String(),
  created_at: Type.String(),
});
export type AnalyticsEvent = Static<typeof AnalyticsEvent>;

export const AnalyticsEventsQuery = Type.Intersect([
  ListQuery,
  Type.Object({
    type: Type.Optional(Type.String({ maxLength: 100 })),
    subject: Type.Optional(Type.String({ maxLength: 200 })),
    since: Type.Optional(Timestamp),
    until: Type.Optional(Timestamp),
  }),
]);
export type AnalyticsEventsQuery = Static<typeof AnalyticsEventsQuery>;

export const MetricsSummary = Type.Object({
  generated_at: Type.String(),
  process: Type.Object({
    uptime_seconds: Type.Number(),
    rss_bytes: Type.Number(),
    heap_used_bytes: Type.Number(),
    event_loop_lag_seconds: Type.Union([Type.Number(), Type.Null()]),
  }),
  http: Type.Object({
    requests: Type.Number(),
    by_status: Type.Record(Type.String(), Type.Number(), { description: '2xx, 3xx, 4xx, 5xx' }),
    in_flight: Type.Number(),
    latency_seconds: Type.Object(
      {
        p50: Type.Union([Type.Number(), Type.Null()]),
        p95: Type.Union([Type.Number(), Type.Null()]),
        p99: Type.Union([Type.Number(), Type.Null()]),
      },
      { description: 'Upper bounds of the histogram buckets holding each quantile' },
    ),
  }),
  authorization: Type.Record(Type.String(), Type.Number(), { description: 'Decisions by result (allow, deny)' }),
  jobs: Type.Record(Type.String(), Type.Number(), { description: 'Jobs by state' }),
  events: Type.Object({ outbox_lag: Type.Union([Type.Number(), Type.Null()]) }),
  llm: Type.Object({ requests: Type.Number(), tokens: Type.Number() }),
  privacy: Type.Object({ analyzed_bytes: Type.Number(), entities: Type.Number() }),
});
export type MetricsSummary = Static<typeof MetricsSummary>;
