/** `loam exec` (run a command, ship its output under an execution) and `loam logs` (query, follow). */
import { randomUUID } from 'node:crypto';
import { LogSink, exec } from '@loam/sdk/node';
import type { LogRecord } from '@loam/sdk/node';
import { Command } from 'commander';
import { type ClientIO, UsageError, clientAction } from '../client.js';
import { CLIENT_GROUP, withExamples } from '../program.js';

const line = (r: LogRecord) => `${r.time}\t${r.level.toUpperCase()}\t${r.execution_id ?? '-'}\t${r.message}`;

function execCommand(io: ClientIO): Command {
  const command = new Command('exec')
    .description('Run a command with the terminal attached, ship its output lines to Loam under an execution, exit with its code')
    .argument('<command...>', 'the command and its arguments (after --)')
    .option('--execution-id <id>', 'the execution the lines belong to (default: a new one, printed)')
    .option('--session-id <id>', 'the session the execution belongs to')
    .option('--workflow-id <id>', 'the workflow the execution belongs to');
  withExamples(command, 'loam exec -- npm test', 'loam exec --execution-id nightly-42 -- ./run.sh --full');
  return clientAction<{ executionId?: string; sessionId?: string; workflowId?: string }>(command, io, async ({ args, opts, o, loam }) => {
    const [cmd, ...rest] = args;
    if (!cmd) throw new UsageError('Name the command to run: loam exec -- <command> [args…]');
    const executionId = opts.executionId ?? `exec-${randomUUID()}`;
    if (!opts.executionId) o.err.write(`loam: execution ${executionId}\n`);
    const sink = new LogSink({ logs: loam().logs, flushOnExit: false, onError: () => {} });
    const result = await exec(cmd, rest, {
      mode: 'inherit',
      sink,
      context: { executionId, sessionId: opts.sessionId, workflowId: opts.workflowId },
    });
    await sink.close(5000);
    if (sink.dropped > 0) o.err.write(`loam: ${sink.dropped} output lines could not be shipped\n`);
    process.exitCode = result.exitCode;
  });
}

function logsCommand(io: ClientIO): Command {
  const command = new Command('logs')
    .description('Print log records (oldest first); --follow prints new ones as they arrive (Ctrl-C to stop)')
    .option('--execution <id>', 'only this execution')
    .option('--session <id>', 'only this session')
    .option('--level <level>', 'this level or worse: trace, debug, info, warn, error, fatal')
    .option('-q, --query <words>', 'words the message contains')
    .option('--limit <n>', 'at most this many records (default 100)')
    .option('-f, --follow', 'keep printing new records');
  withExamples(command, 'loam logs --execution nightly-42', 'loam logs --level error --follow', 'loam logs --execution e1 --json');
  return clientAction<{ execution?: string; session?: string; level?: string; query?: string; limit?: string; follow?: boolean }>(
    command,
    io,
    async ({ opts, o, loam }) => {
      const filters = {
        execution_id: opts.execution,
        session_id: opts.session,
        level: opts.level as LogRecord['level'] | undefined,
        q: opts.query,
      };
      const print = (r: LogRecord): void => {
        o.out.write(o.json ? `${JSON.stringify(r)}\n` : `${line(r)}\n`);
      };
      const client = loam();
      if (opts.follow) {
        const controller = new AbortController();
        const stop = () => controller.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          await client.logs.tail({ ...filters, signal: controller.signal, onRecord: print });
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
        return;
      }
      const limit = Number(opts.limit ?? 100);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
      let n = 0;
      for await (const r of client.logs.list({ ...filters, limit: Math.min(limit, 1000) })) {
        print(r);
        if (++n >= limit) break;
      }
    },
  );
}

export function observeCommands(io: ClientIO): Command[] {
  return [execCommand(io).helpGroup(CLIENT_GROUP), logsCommand(io).helpGroup(CLIENT_GROUP)];
}
