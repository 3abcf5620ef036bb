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
 * Each wait listens for the abort only while it lasts. (Racing every next() against one promise
 * of the abort kept every message: a pending promise holds each race's reaction, and with it
 * the race's outcome, until the call ends; all of an upload's records then lived through its
 * insert and were promoted to V8's old space.)
 */
export function abortable<T>(messages: AsyncIterable<T>, signal: AbortSignal): AsyncIterator<T> {
  const it = messages[Symbol.asyncIterator]();
  return {
    next: () =>
      new Promise<IteratorResult<T>>((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason);
        const onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        it.next().then(
          (result) => {
            signal.removeEventListener('abort', onAbort);
            resolve(result);
          },
          (err) => {
            signal.removeEventListener('abort', onAbort);
            reject(err);
          },
        );
      }),
    return: async (value?: unknown) => (await it.return?.(value)) ?? { done: true, value: undefined },
  };
}
