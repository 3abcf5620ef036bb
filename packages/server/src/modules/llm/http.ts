import { STATUS_CODES } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import { UpstreamError, retryAfterMsOf } from './types.js';

/**
 * The providers' HTTP transport: undici's request API over keep-alive connections. Per call it
 * costs about three quarters of node:http's CPU, half of `fetch`'s and a quarter of the `openai`
 * package's (bench/llm.bench.mjs measures what the gateway adds to a call). No timeouts of its
 * own: a call's deadline (LOAM_LLM_TIMEOUT_MS) aborts it, whether waiting for headers or a stream.
 */
const dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });

/** A provider's answer: status, headers and the body as a stream. */
export type UpstreamResponse = Dispatcher.ResponseData;

export interface UpstreamCall {
  /** The provider's name, for errors. */
  provider: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  signal: AbortSignal;
}

/**
 * POSTs `body` as JSON and resolves with the response once its status is 2xx; any other status is
 * an UpstreamError carrying the provider's own message and Retry-After. A network error is an
 * UpstreamError without a status (retried); an abort (also while the body is read) rejects with
 * the signal's reason.
 */
export async function postJson(call: UpstreamCall): Promise<UpstreamResponse> {
  const url = new URL(call.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UpstreamError(call.provider, undefined, `unsupported URL scheme ${url.protocol}`);
  let res: UpstreamResponse;
  try {
    res = await dispatcher.request({
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...call.headers },
      body: JSON.stringify(call.body),
      signal: call.signal,
    });
  } catch (err) {
    if (call.signal.aborted) throw err;
    throw new UpstreamError(call.provider, undefined, `cannot reach ${url.origin}: ${(err as Error).message}`);
  }
  const status = res.statusCode;
  if (status >= 200 && status < 300) return res;
  const text = await res.body.text();
  throw new UpstreamError(
    call.provider,
    status,
    errorDetail(text) || STATUS_CODES[status] || `HTTP ${status}`,
    retryAfterMsOf(headersOf(res.headers)),
  );
}

/** The whole body as JSON; a body that is not JSON is the provider's fault (502). */
export async function readJson<T>(res: UpstreamResponse, provider: string): Promise<T> {
  const text = await res.body.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new UpstreamError(provider, res.statusCode, `the provider answered with invalid JSON: ${text.slice(0, 200)}`);
  }
}

/** The body's lines as they arrive (NDJSON, Server-Sent Events); closes the connection if the reader stops early. */
export async function* lines(res: UpstreamResponse): AsyncGenerator<string> {
  const body = res.body;
  body.setEncoding('utf8');
  let buffer = '';
  try {
    for await (const chunk of body) {
      buffer += chunk as string;
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        yield buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
      }
    }
    if (buffer) yield buffer;
  } finally {
    if (!body.readableEnded) body.destroy();
  }
}

/** `{error: {message}}` (OpenAI, Azure) or `{error: "…"}` (Ollama), else the start of the text. */
function errorDetail(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: string | { message?: string } };
    const message = typeof body.error === 'string' ? body.error : body.error?.message;
    if (message) return message;
  } catch {}
  return text.slice(0, 500);
}

function headersOf(h: UpstreamResponse['headers']): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(h)) for (const value of Array.isArray(v) ? v : v === undefined ? [] : [v]) out.append(k, value);
  return out;
}
