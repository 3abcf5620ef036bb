import type { Interceptor } from '@connectrpc/connect';
import { toConnectError } from './errors.js';

/**
 * The interceptor that turns whatever a handler throws (AppError from the services, anything
 * unexpected) into its gRPC status, for unary answers and for errors in the middle of a stream.
 */
export function errorMapping(log: (err: unknown) => void): Interceptor {
  const map = (err: unknown) => toConnectError(err, log);
  async function* mapped<T>(messages: AsyncIterable<T>): AsyncGenerator<T> {
    try {
      yield* messages;
    } catch (err) {
      throw map(err);
    }
  }
  return (next) => async (req) => {
    try {
      const res = await next(req);
      return res.stream ? { ...res, message: mapped(res.message) } : res;
    } catch (err) {
      throw map(err);
    }
  };
}

/**
 * The client's messages, where waiting for the next one ends when `signal` aborts (the call's
 * deadline passed or it was cancelled): a stalled client cannot hold a transaction open past it.
 */
export function abortable<T>(messages: AsyncIterable<T>, signal: AbortSignal): AsyncIterator<T> {
  const it = messages[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {}); // observed by the races below
  return {
    next: () => Promise.race([it.next(), aborted]),
    return: async (value?: unknown) => {
      if (onAbort) signal.removeEventListener('abort', onAbort);
      return (await it.return?.(value)) ?? { done: true, value: undefined };
    },
  };
}
