/** `loam keys`: API keys. */
import { Command } from 'commander';
import { collect } from '../args.js';
import { type ClientIO, clientAction, clientGroup } from '../client.js';
import { details, print, table } from '../output.js';
import { withExamples } from '../program.js';

const KEY_COLUMNS = ['id', 'name', 'prefix', 'scopes', 'created_at', 'last_used_at', 'revoked_at'];

interface CreateOptions {
  scope?: string[];
  role?: string[];
  expires?: string;
}

function create(io: ClientIO): Command {
  const command = new Command('create')
    .description('Create an API key (the secret is printed once)')
    .argument('<name>', 'a name saying what the key is for')
    .option('--scope <scope>', 'scope granted to the key (repeatable)', collect)
    .option('--role <role>', 'role granted to the key (repeatable)', collect)
    .option('--expires <time>', 'expiry time, RFC 3339 (default: never)');
  withExamples(
    command,
    'loam keys create ci-bot --scope ai:read --scope storage',
    'loam keys create temp --expires 2030-01-01T00:00:00Z --json',
  );
  return clientAction<CreateOptions>(command, io, async ({ args, opts, o, loam }) => {
    const key = await loam().apiKeys.create({
      name: args[0],
      scopes: opts.scope ?? [],
      ...(opts.role ? { roles: opts.role } : {}),
      ...(opts.expires ? { expires_at: opts.expires } : {}),
    });
    print(
      o,
      key,
      () =>
        `${details({ id: key.id, name: key.name, scopes: key.scopes.join(' '), key: key.key })}\n\nStore the key now: it is not shown again.`,
    );
  });
}

function ls(io: ClientIO): Command {
  const command = new Command('ls').alias('list').description('List API keys');
  withExamples(command, 'loam keys ls', 'loam keys list --json');
  return clientAction(command, io, async ({ o, loam }) => {
    const keys = await loam().apiKeys.list({ limit: 1000 }).toArray();
    print(o, keys, () => table(keys, KEY_COLUMNS));
  });
}

function revoke(io: ClientIO): Command {
  const command = new Command('revoke').description('Revoke an API key at once').argument('<id>', 'the key’s id (key_…)');
  withExamples(command, 'loam keys revoke key_01…');
  return clientAction(command, io, async ({ args, o, loam }) => {
    const id = args[0];
    await loam().apiKeys.revoke(id);
    print(o, { id, revoked: true }, () => `Revoked ${id}`);
  });
}

export function keysCommand(io: ClientIO): Command {
  return clientGroup(
    'keys',
    'Create, list and revoke API keys',
    [create(io), ls(io), revoke(io)],
    'loam keys ls',
    'loam keys create ci-bot --scope ai:read',
  );
}
