/**
 * `loam serve`, `loam worker`, `loam migrate`. @loam/server is imported only when one of them runs
 * (not for its --help), so the client commands work where the server is not installed.
 */
import { setFlagsFromString } from 'node:v8';
import { Command } from 'commander';
import { SERVER_GROUP, withExamples } from '../program.js';

export const SERVER_COMMANDS = new Set(['serve', 'worker', 'migrate']);

/** How a server command ended: an exit code, or `running` (serve / worker run until a signal). */
export type ServerOutcome = number | 'running';

type ServerModule = typeof import('@loam/server');

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

/** The server package, or a one-line reason when it (or one of its dependencies) is not installed. */
async function loadServer(command: string, err: NodeJS.WritableStream): Promise<ServerModule | undefined> {
  try {
    return await import('@loam/server');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    const missing = /['"]([^'"]+)['"]/.exec((e as Error).message)?.[1] ?? 'a module';
    err.write(`loam: 'loam ${command}' needs the server package: npm install @loam/server (cannot load ${missing})\n`);
    return undefined;
  }
}

async function runServerCommand(command: 'serve' | 'worker' | 'migrate', io: ServerIO): Promise<ServerOutcome> {
  const release = command === 'migrate' ? () => {} : holdStartupHeuristics();
  const server = await loadServer(command, io.err);
  if (!server) return 1;
  let usesPostgres = false;
  try {
    const config = server.loadConfig();
    usesPostgres = config.databaseUrl !== '';
    for (const warning of server.unknownVariableWarnings(process.env)) io.err.write(`loam: warning: ${warning}\n`);
    if (command !== 'migrate') {
      await (command === 'serve' ? server.serve(config) : server.worker(config));
      release();
      return 'running';
    }
    const applied = await server.migrate(config);
    io.out.write(applied.length ? `applied ${applied.length} migration(s):\n  ${applied.join('\n  ')}\n` : 'database is up to date\n');
    return 0;
  } catch (e) {
    if (e instanceof server.ConfigError) {
      io.err.write(`loam: ${e.message}\n`);
      return 1;
    }
    // A database that cannot be reached or refuses the credentials: one line, not a stack trace.
    const code = (e as { code?: unknown }).code;
    if (usesPostgres && typeof code === 'string' && /^(E[A-Z]+|28P01|28000|3D000)$/.test(code)) {
      io.err.write(`loam: cannot use the database of LOAM_DATABASE_URL: ${(e as Error).message}\n`);
      return 1;
    }
    throw e;
  }
}

export interface ServerIO {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** Called once the command has run (not for --help). */
  done(outcome: ServerOutcome): void;
}

const CONFIG_HELP = `
Configuration comes from LOAM_* environment variables (LOAM_PORT, LOAM_DATA_DIR,
LOAM_DATABASE_URL, ...) and an optional JSON file named by LOAM_CONFIG; see the README.`;

export function serverCommands(io: ServerIO): Command[] {
  const command = (name: 'serve' | 'worker' | 'migrate', description: string) =>
    new Command(name)
      .description(description)
      .helpGroup(SERVER_GROUP)
      .addHelpText('after', CONFIG_HELP)
      .action(async () => io.done(await runServerCommand(name, io)));
  return [
    withExamples(
      command('serve', 'Run the HTTP API, job workers and event relay (migrates first unless LOAM_MIGRATE=false)'),
      'loam serve',
      'LOAM_PORT=9000 LOAM_DATA_DIR=./data loam serve',
      'LOAM_DATABASE_URL=postgres://loam@db/loam LOAM_MIGRATE=false loam serve',
    ),
    withExamples(
      command('worker', 'Run job workers and the event relay only (scale-out; no HTTP)'),
      'LOAM_DATABASE_URL=postgres://loam@db/loam loam worker',
    ),
    withExamples(
      command('migrate', 'Apply pending database migrations and exit'),
      'loam migrate',
      'LOAM_DATABASE_URL=postgres://loam@db/loam loam migrate',
    ),
  ];
}
