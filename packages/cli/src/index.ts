#!/usr/bin/env node
import { UsageError, clientUsage, describeError, runClientCommand } from './commands.js';

const USAGE = `Usage: loam <command> [options]

Server commands:
  serve     Run the HTTP API, job workers and event relay (migrates first unless LOAM_MIGRATE=false)
  worker    Run job workers and the event relay only (scale-out; no HTTP)
  migrate   Apply pending database migrations and exit

Client commands (talk to a Loam server; log in first, or set LOAM_API_BASE_URL and LOAM_API_KEY):
${clientUsage()}

Client options: --json (machine-readable output), --profile NAME, --url URL, --api-key KEY, --help.
Server configuration comes from LOAM_* environment variables and an optional JSON file (LOAM_CONFIG).`;

async function serverCommand(command: string): Promise<number | undefined> {
  if (!SERVER_COMMANDS.has(command)) return undefined;
  // Loaded only for server commands, so client commands start fast and need no server dependencies.
  const { ConfigError, loadConfig, migrate, serve, worker } = await import('@loam/server');
  try {
    const config = loadConfig();
    if (command === 'serve') {
      await serve(config);
      return -1;
    }
    if (command === 'worker') {
      await worker(config);
      return -1;
    }
    const applied = await migrate(config);
    process.stdout.write(
      applied.length ? `applied ${applied.length} migration(s):\n  ${applied.join('\n  ')}\n` : 'database is up to date\n',
    );
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`loam: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const server = await serverCommand(command);
  if (server !== undefined) return server;
  try {
    if (await runClientCommand(argv, { out: process.stdout, err: process.stderr })) return process.exitCode === 1 ? 1 : 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`loam: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`loam: ${describeError(err).split('\n')[0]}\n`);
    return 1;
  }
  process.stderr.write(`loam: unknown command '${command}'\n\n${USAGE}\n`);
  return 2;
}

const SERVER_COMMANDS = new Set(['serve', 'worker', 'migrate']);

main(process.argv.slice(2)).then(
  (code) => {
    if (code < 0) return; // serve / worker run until a signal stops them
    // Server commands may leave pools open: exit at once. Client commands let stdout drain first.
    if (SERVER_COMMANDS.has(process.argv[2] ?? '')) process.exit(code);
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`loam: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
