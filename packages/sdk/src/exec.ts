/**
 * `exec()`: runs a host command (on execa) with its output captured or passed through, a working
 * directory, environment, timeout and AbortSignal; forwards SIGINT and SIGTERM to the child; and,
 * given a LogSink, ships each output line under the execution. Node only (`@loam/sdk/node`).
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import type { LogSink } from './log-sink.js';
import type { ExecutionContext } from './resources/logs.js';

export interface ExecOptions {
  /** `capture` (default): stdout and stderr are returned. `inherit`: the child uses this process's terminal. */
  mode?: 'capture' | 'inherit';
  cwd?: string;
  /** Added to this process's environment (`extendEnv: false` to pass only these). */
  env?: Record<string, string | undefined>;
  extendEnv?: boolean;
  /** Kill the child (SIGTERM, then SIGKILL 5 s later) after this many ms. */
  timeout?: number;
  /** Kills the child when it aborts. */
  signal?: AbortSignal;
  /** Forward SIGINT and SIGTERM this process receives to the child (default true). */
  forwardSignals?: boolean;
  /** Ship every output line to this sink (stdout at `info`, stderr at `error`), and the exit as a last record. */
  sink?: LogSink;
  /** The execution the lines belong to. */
  context?: ExecutionContext;
}

export interface ExecResult {
  /** The child's exit code; 128 + the signal number when a signal ended it (as shells report it). */
  exitCode: number;
  /** The signal that ended the child, if any. */
  signal?: string;
  /** Captured output (`capture` mode; empty otherwise). */
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

export async function exec(command: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
  const capture = (options.mode ?? 'capture') === 'capture';
  const ship = options.sink?.withExecution(options.context ?? {});
  // Lines are read from a pipe when they are shipped; in `inherit` mode they go on to the terminal too.
  const out = capture ? 'pipe' : ship ? (['pipe', 'inherit'] as const) : 'inherit';
  const child = execa(command, [...args], {
    cwd: options.cwd,
    env: options.env,
    extendEnv: options.extendEnv ?? true,
    timeout: options.timeout,
    cancelSignal: options.signal,
    forceKillAfterDelay: 5000,
    stdin: capture ? 'ignore' : 'inherit',
    stdout: out,
    stderr: out,
    reject: false,
    stripFinalNewline: true,
  });
  const forwarded: [NodeJS.Signals, () => void][] = [];
  if (options.forwardSignals ?? true)
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const forward = () => child.kill(sig);
      process.on(sig, forward);
      forwarded.push([sig, forward]);
    }
  const readers: Promise<void>[] = [];
  if (ship) {
    const lines = (stream: Readable | null, level: 'info' | 'error', name: string) => {
      if (!stream) return;
      const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
      rl.on('line', (line) => ship.log(level, line, { stream: name }));
      readers.push(new Promise((r) => rl.once('close', () => r())));
    };
    lines(child.stdout, 'info', 'stdout');
    lines(child.stderr, 'error', 'stderr');
  }
  try {
    const result = await child;
    await Promise.all(readers);
    const signal = result.signal ?? undefined;
    const exitCode = result.exitCode ?? (signal ? 128 + (SIGNALS[signal] ?? 0) : 1);
    ship?.log(exitCode === 0 ? 'info' : 'error', `exited with code ${exitCode}${signal ? ` (${signal})` : ''}`, {
      exit_code: exitCode,
      ...(signal ? { signal } : {}),
      ...(result.timedOut ? { timed_out: true } : {}),
    });
    return {
      exitCode,
      signal,
      stdout: capture ? String(result.stdout ?? '') : '',
      stderr: capture ? String(result.stderr ?? '') : '',
      timedOut: result.timedOut,
    };
  } finally {
    for (const [sig, forward] of forwarded) process.off(sig, forward);
  }
}
