import { type Config, startupConfig } from './config.js';
import { createLoam, type Loam } from './app.js';

function banner(key: string): string {
  const line = '─'.repeat(72);
  return `\n${line}\n  Loam created the default tenant and its admin API key. It is shown only\n  this once and stored only as a hash; keep it somewhere safe:\n\n    ${key}\n\n  Use it as:  curl -H 'X-API-Key: ${key.slice(0, 12)}…' …\n${line}\n\n`;
}

/**
 * Exits once buffered log lines are written (or `ms` passed). pino's own exit-time flush is
 * synchronous and retries a broken stdout (EPIPE: `loam serve | pino-pretty` after Ctrl-C, a
 * restarted journald) forever; flushed asynchronously first, a broken pipe only turns logging off.
 */
function exitAfterLogs(loam: Loam, code: number, ms = 1000): void {
  const exit = () => process.exit(code);
  setTimeout(exit, ms);
  loam.platform.log.flush(exit);
}

/** Stops on SIGTERM/SIGINT: stop accepting, finish in-flight requests and running jobs, close pools. */
function onSignals(loam: Loam, deadlineMs: number): void {
  let stopping = false;
  // Workers and the relay poll with unref'd timers; without a listening socket (`loam worker`)
  // this handle is what keeps the process alive until a signal arrives.
  const keepAlive = setInterval(() => {}, 1 << 30);
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(keepAlive);
    loam.platform.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      loam.platform.log.error({ deadline_ms: deadlineMs }, 'graceful shutdown deadline passed; exiting');
      exitAfterLogs(loam, 1, 200);
    }, deadlineMs + 1000);
    force.unref();
    loam
      .close(deadlineMs)
      .then(() => {
        loam.platform.log.info('stopped');
        exitAfterLogs(loam, 0);
      })
      .catch((err) => {
        loam.platform.log.error({ err }, 'shutdown failed');
        exitAfterLogs(loam, 1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** `loam serve`: HTTP API, job workers and event relay in one process. */
export async function serve(config: Config): Promise<Loam> {
  const loam = await createLoam(config);
  const log = loam.platform.log;
  log.info({ config: startupConfig(config) }, 'starting loam');
  if (config.migrate) {
    const applied = await loam.migrate();
    if (applied.length) log.info({ applied }, 'migrations applied');
  }
  const { adminKey } = await loam.bootstrap();
  if (adminKey) process.stderr.write(banner(adminKey));
  const app = await loam.http();
  await app.listen({ host: config.host, port: config.port });
  if (config.grpcEnabled) await loam.services.grpc.server.listen();
  loam.startBackground({ workers: config.jobConcurrency, relay: true });
  onSignals(loam, config.shutdownTimeoutMs);
  return loam;
}

/** `loam worker`: job workers and the event relay, no HTTP. */
export async function worker(config: Config): Promise<Loam> {
  const loam = await createLoam(config);
  loam.platform.log.info({ config: startupConfig(config) }, 'starting loam worker');
  await loam.bootstrap();
  const workers = Math.max(1, config.jobConcurrency);
  loam.startBackground({ workers, relay: true });
  onSignals(loam, config.shutdownTimeoutMs);
  loam.platform.log.info({ workers }, 'worker running');
  return loam;
}

/** `loam migrate`: applies pending migrations and exits. */
export async function migrate(config: Config): Promise<string[]> {
  const loam = await createLoam(config);
  try {
    return await loam.migrate();
  } finally {
    await loam.close();
  }
}
