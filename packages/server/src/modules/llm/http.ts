import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { UpstreamError, retryAfterMsOf } from './types.js';

/**
 * The providers' HTTP transport: node:http(s) with keep-alive agents. The same call through
 * `fetch` took about twice the CPU of this, and through the `openai` package four times
 * (bench/llm.bench.mjs measures what the gateway adds to a call).
 */
const agents: Record<string, http.Agent> = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

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
 * UpstreamError without a status (retried); an abort rejects as the abort it is.
 */
export function postJson(call: UpstreamCall): Promise<IncomingMessage> {
  const url = new URL(call.url);
  const agent = agents[url.protocol];
  if (!agent) return Promise.reject(new UpstreamError(call.provider, undefined, `unsupported URL scheme ${url.protocol}`));
  const data = JSON.stringify(call.body);
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(
      url,
      {
        method: 'POST',
        agent,
        signal: call.signal,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...call.headers },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(res);
        readText(res).then(
          (text) =>
            reject(
              new UpstreamError(
                call.provider,
                status,
                errorDetail(text) || res.statusMessage || `HTTP ${status}`,
                retryAfterMsOf(headersOf(res.headers)),
              ),
            ),
          reject,
        );
      },
    );
    req.on('error', (err) =>
      reject(call.signal.aborted ? err : new UpstreamError(call.provider, undefined, `cannot reach ${url.origin}: ${err.message}`)),
    );
    req.end(data);
  });
}

/** The whole body as text. */
export async function readText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The whole body as JSON; a body that is not JSON is the provider's fault (502). */
export async function readJson<T>(res: IncomingMessage, provider: string): Promise<T> {
  const text = await readText(res);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new UpstreamError(provider, res.statusCode, `the provider answered with invalid JSON: ${text.slice(0, 200)}`);
  }
}

/** The body's lines as they arrive (NDJSON, Server-Sent Events); closes the connection if the reader stops early. */
export async function* lines(res: IncomingMessage): AsyncGenerator<string> {
  res.setEncoding('utf8');
  let buffer = '';
  try {
    for await (const chunk of res) {
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
    if (!res.complete) res.destroy();
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

function headersOf(h: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(h)) for (const value of Array.isArray(v) ? v : v === undefined ? [] : [v]) out.append(k, value);
  return out;
}
