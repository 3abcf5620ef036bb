/**
 * The built `loam` binary's command line, with no server: help, version, command-line errors, and
 * the client commands on a machine where the server package is not installed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCommands } from '../src/commands/client.js';
import { serverCommands } from '../src/commands/server.js';
import { type Run, runLoam } from './run-loam.js';

const ROOT = resolve(import.meta.dirname, '../../..');
let home: string;

/** The built binary, with no LOAM_* from the test runner and a private config dir. */
function loam(args: string[], opts: { env?: Record<string, string>; nodeArgs?: string[] } = {}): Promise<Run> {
  const env = { PATH: process.env.PATH ?? '', XDG_CONFIG_HOME: join(home, 'config'), ...opts.env };
  return runLoam(args, { env, cwd: home, nodeArgs: opts.nodeArgs });
}

beforeAll(() => {
  if (!existsSync(join(ROOT, 'packages/cli/dist/loam.mjs')))
    throw new Error('packages/cli/dist/loam.mjs is missing: run npm run build first');
  home = mkdtempSync(join(tmpdir(), 'loam-cli-help-'));
});
afterAll(() => {
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('loam --version and --help', () => {
  it('--version and -V print the version in packages/cli/package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await loam([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });

  it('loam --help lists the server and the client commands, with descriptions and examples', async () => {
    const r = await loam(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: loam <command> \[options\]/);
    expect(r.stdout).toMatch(/Server commands:\n\s+serve\s+Run the HTTP API/);
    expect(r.stdout).toMatch(/^\s+datasets\s+Create, list and inspect datasets/m);
    expect(r.stdout).toMatch(/^Examples:\n\s+\$ loam serve$/m);
  });

  it('loam serve --help prints help and exits 0 without starting a server', async () => {
    const dataDir = join(home, 'serve-data');
    const r = await loam(['serve', '--help'], { env: { LOAM_DATA_DIR: dataDir, LOAM_PORT: '1' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: loam serve \[options\]\n\nRun the HTTP API/);
    expect(r.stdout).toContain('$ LOAM_PORT=9000 LOAM_DATA_DIR=./data loam serve');
    expect(r.stderr).toBe('');
    expect(existsSync(dataDir)).toBe(false); // no database was created, no log line written
  });

  it('loam datasets --help lists its subcommands with their descriptions, ls with its alias', async () => {
    const r = await loam(['datasets', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: loam datasets/);
    expect(r.stdout).toMatch(/^\s+create \[options\] <name>\s+Create a dataset$/m);
    expect(r.stdout).toMatch(/^\s+ls\|list \[options\]\s+List datasets$/m);
    expect(r.stdout).toMatch(/^\s+get \[options\] <id>\s+Show a dataset$/m);
    expect(r.stdout).toMatch(/^\s+stats \[options\] <id>\s+Record count, bytes and per-field statistics$/m);
    expect((await loam(['help', 'datasets'])).stdout).toBe(r.stdout);
  });

  it('a command’s help describes each flag and gives examples', async () => {
    const r = await loam(['records', 'import', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: loam records import \[options\] <dataset> <file>/);
    expect(r.stdout).toMatch(/^\s+--format <format>\s+file format \(default: from the file name\) \(choices:\s+"ndjson", "csv"\)/m);
    expect(r.stdout).toMatch(/^\s+--no-progress\s+do not show progress bars$/m);
    expect(r.stdout).toMatch(/^\s+--json\s+print the result as JSON/m);
    expect(r.stdout).toMatch(/^Examples:\n\s+\$ loam records import ds_01… people\.ndjson$/m);
  });

  it('every command and every flag has a description', () => {
    const io = { out: process.stdout, err: process.stderr };
    const tree = [...serverCommands({ ...io, done: () => {} }), ...clientCommands(io)];
    const undescribed: string[] = [];
    const visit = (command: Command, path: string) => {
      if (!command.description()) undescribed.push(path);
      for (const option of command.options) if (!option.description) undescribed.push(`${path} ${option.flags}`);
      for (const sub of command.commands) visit(sub, `${path} ${sub.name()}`);
    };
    for (const command of tree) visit(command, command.name());
    expect(undescribed).toEqual([]);
  });
});

describe('command-line errors', () => {
  it('no command: the usage on stdout, exit 2', async () => {
    const r = await loam([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^Usage: loam <command> \[options\]/);
  });

  it('an unknown command or flag, or a missing argument: one line on stderr, exit 2', async () => {
    const typo = await loam(['kyes', 'ls']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe("loam: unknown command 'kyes' (Did you mean keys?) (see 'loam --help')\n");
    const flag = await loam(['datasets', 'ls', '--bogus']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toBe("loam: unknown option '--bogus' (usage: loam datasets ls [options])\n");
    const missing = await loam(['records', 'import', 'ds_1']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("loam: missing required argument 'file' (usage: loam records import [options] <dataset> <file>)\n");
    const group = await loam(['records']);
    expect(group.code).toBe(2);
    expect(group.stderr).toMatch(/^Usage: loam records/); // the group's help, listing its subcommands
  });
});

describe('without the server package', () => {
  /** A module hook making @loam/server and its native dependencies unresolvable, as after `npm install --omit=optional`. */
  function withoutServer(): string[] {
    const hooks = join(home, 'no-server-hooks.mjs');
    writeFileSync(
      hooks,
      `const MISSING = new Set(['@loam/server', 'better-sqlite3', '@node-rs/argon2']);
export async function resolve(specifier, context, next) {
  if (!MISSING.has(specifier)) return next(specifier, context);
  const err = new Error(\`Cannot find package '\${specifier}' imported from \${context.parentURL}\`);
  err.code = 'ERR_MODULE_NOT_FOUND';
  throw err;
}\n`,
    );
    const register = join(home, 'no-server.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    return ['--import', pathToFileURL(register).href];
  }

  it('client commands still run; serve says what to install, exit 1', async () => {
    const nodeArgs = withoutServer();
    const client = await loam(['keys', 'ls', '--url', 'http://127.0.0.1:1', '--api-key', 'loam_sk_x'], { nodeArgs });
    expect(client.code).toBe(1);
    expect(client.stderr).toBe('loam: Cannot reach http://127.0.0.1:1: bad port\n'); // it got as far as the network
    expect((await loam(['datasets', '--help'], { nodeArgs })).code).toBe(0);

    const serve = await loam(['serve'], { nodeArgs, env: { LOAM_DATA_DIR: join(home, 'no-server-data') } });
    expect(serve.code).toBe(1);
    expect(serve.stderr).toMatch(/^loam: 'loam serve' needs the server package: npm install @loam\/server \(cannot load \S+\)\n$/);
  });
});
