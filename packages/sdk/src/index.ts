export { Loam } from './client.js';
export { Loam as default } from './client.js';
export {
  APIPromise,
  type ClientCredentials,
  type Fetch,
  type HealthStatus,
  type LoamOptions,
  type Query,
  type RequestOptions,
  backoffDelay,
} from './core.js';
export * from './errors.js';
export type { ClientMetrics } from './metrics.js';
export { Page, PagePromise } from './pagination.js';
export { Stream, parseSSE, type ServerSentEvent } from './streaming.js';
export type { UploadProgress, Uploadable } from './uploads.js';
export { ContentProcessingError } from './resources/content.js';
export type { ContentListQuery, IngestCommon, WaitOptions } from './resources/content.js';
export { JobFailedError } from './resources/jobs.js';
export type { Broker, SubscribeOptions, TypedMessage } from './resources/sessions.js';
export type { EventFilter, EventStreamOptions } from './resources/events.js';
export type { QueryBody, QueryPart, UploadDocumentOptions } from './resources/knowledge.js';
export { WebhookVerificationError, verifyWebhook } from './webhooks.js';
export { MAX_RECORDS_PER_CALL } from './resources/records.js';
export { LogSink, fromHeaders, type ExecutionLogger, type LogShipper, type LogSinkOptions } from './log-sink.js';
export { contextHeaders, type ExecutionContext, type LogsListQuery, type TailOptions } from './resources/logs.js';
/** Every request, response and error type of the Loam API. */
export type * from '@loam/api';
