#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// The client commands (and the SDK under them) are imported only for client commands, and the
// server only for server commands: `loam serve` does not carry the client in memory.
const usage = async () => {
  const { clientUsage } = await import('./commands.js');
  return `Usage: loam <command> [options]

Server commands:
  serve     Run the HTTP API, job workers and event relay (migrates first unless LOAM_MIGRATE=false)
  worker    Run job workers and the event relay only (scale-out; no HTTP)
  migrate   Apply pending database migrations and exit

Client commands (talk to a Loam server; log in first, or set LOAM_API_BASE_URL and LOAM_API_KEY):
${clientUsage()}

Client options: --json (machine-readable output), --profile NAME, --url URL, --api-key KEY, --help.
Server configuration comes from LOAM_* environment variables and an optional JSON file (LOAM_CONFIG).`;
};

/**
 * Two V8 heuristics are held back while the server starts and set back to V8's defaults once it
 * runs (both are read by V8 at each decision, so changing them at run time is safe):
 *
 * - Young-generation growth. V8 doubles the young generation each time enough objects have
 *   survived scavenges since it last grew, up to 16 MB per semi-space (32 MB resident). Starting
 *   (~1,100 modules, ~180 routes) is one long burst of surviving objects, so every process would
 *   idle with the largest young generation, ~30 MB it does not use until V8's memory reducer
 *   shrinks it after some 40 s of idleness. Under load it grows again as V8 sees fit.
 * - TurboFan. Functions that are hot while starting (module loading, schema building) are mostly
 *   never run again, and optimizing them costs CPU and leaves the compiler threads' malloc arenas
 *   holding ~9 MB. Functions hot under load are optimized as usual once the server runs.
 *
 * Measured in bench/RESULTS.md (start-up): ~30 MB less idle RSS, less CPU to start. A setting
 * given explicitly (node options or NODE_OPTIONS) is left alone.
 */
function holdStartupHeuristics(): () => void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  const hold: string[] = [];
  const restore: string[] = [];
  if (!/semi[-_]space/.test(given)) {
    hold.push('--semi-space-growth-factor=1');
    restore.push('--semi-space-growth-factor=2');
  }
  if (!/-(no-)?(opt|turbofan)\b/.test(given)) {
    hold.push('--no-turbofan');
    restore.push('--turbofan');
  }
  for (const flag of hold) setFlagsFromString(flag);
  return () => {
    for (const flag of restore) setFlagsFromString(flag);
  };
}

async function serverCommand(command: string): Promise<number | undefined> {
  if (!SERVER_COMMANDS.has(command)) return undefined;
  const release = command === 'migrate' ? () => {} : holdStartupHeuristics();
  // Loaded only for server commands, so client commands start fast and need no server dependencies.
  const { ConfigError, loadConfig, migrate, serve, worker } = await import('@loam/server');
  try {
    const config = loadConfig();
    if (command === 'serve') {
      await serve(config);
      release();
      return -1;
    }
    if (command === 'worker') {
      await worker(config);
      release();
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
    process.stdout.write(`${await usage()}\n`);
    return command ? 0 : 2;
  }
  const server = await serverCommand(command);
  if (server !== undefined) return server;
  const { UsageError, describeError, runClientCommand } = await import('./commands.js');
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
  process.stderr.write(`loam: unknown command '${command}'\n\n${await usage()}\n`);
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
