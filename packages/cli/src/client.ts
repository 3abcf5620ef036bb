/**
 * What every client command shares: the options that say which server and credentials to use,
 * the SDK client they select, `--json`, and turning errors into one line and an exit code.
 */
import { APIError, Loam, LoamError } from '@loam/sdk/node';
import { Command } from 'commander';
import type { Output } from './output.js';
import { type Profile, configPath, loadProfile } from './profile.js';
import { CLIENT_GROUP, withExamples } from './program.js';

/** A wrong invocation found by the command itself: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** Where the client commands write; process.stdout / stderr unless a test passes its own. */
export interface ClientIO {
  out: NodeJS.WritableStream;
  err: NodeJS.WriteStream;
}

export interface ClientOptions {
  json?: boolean;
  profile?: string;
  url?: string;
  apiKey?: string;
}

export interface Context<O> {
  /** The command's positional arguments (a variadic one spread out). */
  args: string[];
  opts: O & ClientOptions;
  o: Output;
  /** The SDK client for the selected flags / environment / profile. */
  loam(): Loam;
}

const CLIENT_OPTIONS: [flags: string, description: string][] = [
  ['--json', 'print the result as JSON (for scripts)'],
  ['--profile <name>', 'use this stored profile instead of the default one'],
  ['--url <url>', 'server URL (overrides LOAM_API_BASE_URL and the profile)'],
  ['--api-key <key>', 'API key (overrides LOAM_API_KEY and the profile)'],
];

/** The SDK client for a stored profile (no secrets ever printed). */
export function clientFor(profile: Profile): Loam {
  return new Loam({
    baseURL: profile.baseURL,
    ...(profile.apiKey ? { apiKey: profile.apiKey } : {}),
    ...(profile.clientId && profile.clientSecret
      ? { clientCredentials: { clientId: profile.clientId, clientSecret: profile.clientSecret, scope: profile.scope } }
      : {}),
  });
}

/** First match wins: --url / --api-key; LOAM_API_BASE_URL / LOAM_API_KEY; --profile, else the default profile. */
function selectClient(opts: ClientOptions): Loam {
  const profile = loadProfile(opts.profile);
  if (opts.profile && !profile)
    throw new LoamError(`no profile '${opts.profile}' in ${configPath()}: run loam login --profile ${opts.profile}`);
  const baseURL = opts.url ?? process.env.LOAM_API_BASE_URL ?? profile?.baseURL;
  if (opts.apiKey || process.env.LOAM_API_KEY || !profile)
    return new Loam({ ...(baseURL ? { baseURL } : {}), ...(opts.apiKey ? { apiKey: opts.apiKey } : {}) });
  return clientFor({ ...profile, baseURL: baseURL ?? profile.baseURL });
}

/** One line for the user: the server's code and explanation, or the client-side reason. */
export function describeError(err: unknown): string {
  if (err instanceof APIError) return `${err.detail} (${err.status} ${err.code}${err.requestId ? `, request ${err.requestId}` : ''})`;
  if (err instanceof LoamError) return err.message;
  if (err instanceof SyntaxError) return `invalid JSON: ${err.message}`;
  return (err as Error).message ?? String(err);
}

/**
 * Gives `command` the client options (those it does not define itself) and `run` as its action.
 * A failure prints one `loam: …` line and sets exit code 1; a UsageError is a command-line error.
 */
export function clientAction<O>(command: Command, io: ClientIO, run: (ctx: Context<O>) => Promise<void>): Command {
  for (const [flags, description] of CLIENT_OPTIONS)
    if (!command.options.some((o) => o.long === flags.split(' ')[0])) command.option(flags, description);
  return command.action(async () => {
    const opts = command.opts<O & ClientOptions>();
    let client: Loam | undefined;
    const ctx: Context<O> = {
      args: command.args,
      opts,
      o: { ...io, json: opts.json === true },
      loam: () => {
        client ??= selectClient(opts);
        return client;
      },
    };
    try {
      await run(ctx);
    } catch (err) {
      if (err instanceof UsageError) command.error(err.message, { exitCode: 2, code: 'loam.usage' });
      io.err.write(`loam: ${describeError(err).split('\n')[0]}\n`);
      process.exitCode = 1;
    }
  });
}

/** A command group (`loam keys`, …) listed under the client commands in `loam --help`. */
export function clientGroup(name: string, description: string, subcommands: Command[], ...examples: string[]): Command {
  const group = new Command(name).description(description).helpGroup(CLIENT_GROUP);
  for (const sub of subcommands) group.addCommand(sub);
  return withExamples(group, ...examples);
}
