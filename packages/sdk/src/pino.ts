/**
 * A pino transport that ships every log line to Loam through a {@link LogSink}.
 * @example
 * import pino from 'pino';
 * const log = pino({ transport: { target: '@loam/sdk/pino', options: { baseURL: 'http://loam:8080', apiKey: process.env.LOAM_API_KEY } } });
 * log.child({ execution_id: 'run-42' }).info({ step: 1 }, 'started');
 */
import type { LogLevelName } from '@loam/api';
import build from 'pino-abstract-transport';
import { Loam } from './client.js';
import { LogSink, type LogSinkOptions } from './log-sink.js';

export interface PinoTransportOptions extends Omit<LogSinkOptions, 'logs' | 'flushOnExit'> {
  baseURL?: string;
  apiKey?: string;
  /** The execution of lines that name none (`execution_id` in a line, e.g. from `log.child`, wins). */
  executionId?: string;
  sessionId?: string;
  workflowId?: string;
}

/** pino's numeric levels to Loam's. */
export function levelOf(level: unknown): LogLevelName {
  const n = typeof level === 'number' ? level : 30;
  return n >= 60 ? 'fatal' : n >= 50 ? 'error' : n >= 40 ? 'warn' : n >= 30 ? 'info' : n >= 20 ? 'debug' : 'trace';
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

export default async function loamTransport(options: PinoTransportOptions = {}) {
  const { baseURL, apiKey, executionId, sessionId, workflowId, ...sinkOptions } = options;
  const loam = new Loam({ baseURL, apiKey });
  const sink = new LogSink({ ...sinkOptions, logs: loam.logs, flushOnExit: false });
  return build(
    async (source: AsyncIterable<Record<string, unknown>>) => {
      for await (const line of source) {
        const { level, time, msg, pid: _pid, hostname: _host, execution_id, session_id, workflow_id, ...attributes } = line;
        sink.log(
          {
            executionId: str(execution_id) ?? executionId,
            sessionId: str(session_id) ?? sessionId,
            workflowId: str(workflow_id) ?? workflowId,
          },
          levelOf(level),
          typeof msg === 'string' ? msg : '',
          attributes,
          typeof time === 'number' ? time : undefined,
        );
      }
    },
    {
      async close() {
        await sink.close();
      },
    },
  );
}
