import type { Interceptor } from '@connectrpc/connect';
import { toConnectError } from './errors.js';

/**
 * The interceptor that turns whatever a handler throws (AppError from the services, anything
 * unexpected) into its gRPC status, for unary answers and for errors in the middle of a stream.
 */
export function errorMapping(log: (err: unknown) => void): Interceptor {
  const map = (err: unknown) => toConnectError(err, log);
  const rethrow = (err: unknown): never => {
    throw map(err);
  };
  // A plain iterator, not a generator: a stream's messages pass without another generator's
  // promises and steps each (StreamRecords sends one message per record).
  const mapped = <T>(messages: AsyncIterable<T>): AsyncIterable<T> => ({
    [Symbol.asyncIterator]() {
      const it = messages[Symbol.asyncIterator]();
      return {
        next: (value?: unknown) => it.next(value).catch(rethrow),
        return: (value?: unknown) =>
          it.return ? it.return(value).catch(rethrow) : Promise.resolve({ done: true as const, value: value as T }),
        throw: (err?: unknown) => (it.throw ? it.throw(err).catch(rethrow) : Promise.reject(map(err))),
      };
    },
  });
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
