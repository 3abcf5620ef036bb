#!/usr/bin/env node
import { ConfigError, loadConfig, migrate, serve, worker } from '@loam/server';

const USAGE = `Usage: loam <command>

Server commands:
  serve     Run the HTTP API, job workers and event relay (migrates first unless LOAM_MIGRATE=false)
  worker    Run job workers and the event relay only (scale-out; no HTTP)
  migrate   Apply pending database migrations and exit

Configuration comes from LOAM_* environment variables and an optional JSON file (LOAM_CONFIG).`;

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  switch (command) {
    case 'serve':
      await serve(config);
      return -1;
    case 'worker':
      await worker(config);
      return -1;
    case 'migrate': {
      const applied = await migrate(config);
      process.stdout.write(
        applied.length ? `applied ${applied.length} migration(s):\n  ${applied.join('\n  ')}\n` : 'database is up to date\n',
      );
      return 0;
    }
    default:
      process.stderr.write(`loam: unknown command '${command}'\n\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    process.stderr.write(`loam: ${err instanceof ConfigError ? err.message : ((err as Error).stack ?? err)}\n`);
    process.exit(1);
  },
);
