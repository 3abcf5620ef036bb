/**
 * The root `loam` command and what every command of the tree shares: help, errors, exit codes.
 * Imports commander only, so `loam serve` loads neither the SDK nor the client commands.
 */
import { Command, type CommanderError } from 'commander';

export const SERVER_GROUP = 'Server commands:';
export const CLIENT_GROUP = 'Client commands (log in first, or set LOAM_API_BASE_URL and LOAM_API_KEY):';

/** Appends an "Examples:" section to a command's help. */
export function withExamples(command: Command, ...lines: string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`);
}

export function createProgram(version: string): Command {
  const program = new Command('loam')
    .usage('<command> [options]')
    .description('Loam, the self-hostable data platform for LLM applications: run the server, or talk to one.')
    .version(version, '-V, --version', 'print the version of loam')
    .addHelpText(
      'after',
      `
Server configuration comes from LOAM_* environment variables and an optional JSON file (LOAM_CONFIG).
Run 'loam <command> --help' for a command's options and examples.`,
    );
  return withExamples(
    program,
    'loam serve',
    'loam login --url http://127.0.0.1:8080 --api-key -',
    'loam datasets ls --json',
    'loam records import ds_01… people.ndjson',
  );
}

/** `loam keys create`, the words a user types to reach `command`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Settings commander does not pass on through `addCommand`, applied to every command of the tree:
 * errors are thrown (not `process.exit`) and printed as one `loam: … (usage: …)` line; options
 * given before a subcommand belong to the command they follow.
 */
export function finishTree(command: Command): Command {
  command
    .exitOverride()
    .helpOption('-h, --help', 'show help for this command')
    .configureOutput({
      outputError: (message, write) => {
        const text = message
          .replace(/^error: /, '')
          .trim()
          .split('\n')
          .join(' ');
        const path = commandPath(command);
        write(`loam: ${text} (${command.commands.length > 0 ? `see '${path} --help'` : `usage: ${path} ${command.usage()}`})\n`);
      },
    });
  if (command.commands.length > 0) command.enablePositionalOptions().helpCommand('help [command]', 'Show help for a command');
  for (const sub of command.commands) finishTree(sub);
  return command;
}

/** 0 for help and --version, 2 for every other command-line error (unknown command or flag, missing argument). */
export function exitCodeOf(err: CommanderError): number {
  return err.exitCode === 0 ? 0 : 2;
}
