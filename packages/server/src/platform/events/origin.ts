import { AsyncLocalStorage } from 'node:async_hooks';

/** What an event carries of the request that caused it: its id (`correlationid`) and W3C trace context. */
export interface EventOrigin {
  correlationId?: string;
  traceparent?: string;
}

/**
 * The origin of the request being handled, set by the HTTP layer for the whole request, so that
 * every event emitted while serving it carries `correlationid` and `traceparent` without each
 * module passing them down.
 */
export const eventOrigin = new AsyncLocalStorage<EventOrigin>();

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** A `traceparent` header value when it is well-formed W3C trace context, else undefined. */
export function validTraceparent(value: unknown): string | undefined {
  return typeof value === 'string' && TRACEPARENT.test(value) && !/^[0-9a-f]{2}-0{32}-/.test(value) ? value : undefined;
}
