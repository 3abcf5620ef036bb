#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { SERVER_COMMANDS, type ServerOutcome, serverCommands } from './commands/server.js';
import { createProgram, exitCodeOf, finishTree } from './program.js';

/**
 * The version of @loam/cli. This file is dist/index.js, or dist/loam.mjs once bundled, or
 * src/index.ts under tsx: package.json is one folder up from each.
 */
function cliVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/**
 * Runs `loam argv…` and returns its exit code, or `running` for a server that runs until a signal
 * stops it. The client commands (and the SDK under them) are imported only for client commands,
 * and the server only when a server command runs: `loam serve` does not carry the client in memory.
 */
async function main(argv: string[]): Promise<ServerOutcome> {
  let server: ServerOutcome | undefined;
  const program = createProgram(cliVersion());
  for (const command of serverCommands({ out: process.stdout, err: process.stderr, done: (outcome) => (server = outcome) }))
    program.addCommand(command);
  if (!SERVER_COMMANDS.has(argv[0] ?? '')) {
    const { clientCommands } = await import('./commands/client.js');
    for (const command of clientCommands({ out: process.stdout, err: process.stderr })) program.addCommand(command);
  }
  finishTree(program);
  if (argv.length === 0) {
    program.outputHelp();
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return exitCodeOf(err);
    throw err;
  }
  return server ?? (typeof process.exitCode === 'number' && process.exitCode > 0 ? process.exitCode : 0);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code === 'running') return; // serve / worker run until a signal stops them
    // Server commands may leave pools open: exit at once. Client commands let stdout drain first.
    if (SERVER_COMMANDS.has(process.argv[2] ?? '')) process.exit(code);
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`loam: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
