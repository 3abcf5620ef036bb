/** `loam login`, `loam logout`: profiles of server URL and credentials. */
import { LoamError } from '@loam/sdk/node';
import { Command } from 'commander';
import { readStdin } from '../args.js';
import { type ClientIO, UsageError, clientAction, clientFor } from '../client.js';
import { print } from '../output.js';
import { type Profile, configPath, loadProfile, removeProfile, saveProfile } from '../profile.js';
import { CLIENT_GROUP, withExamples } from '../program.js';

interface LoginOptions {
  clientId?: string;
  clientSecret?: string;
  scope?: string;
}

function login(io: ClientIO): Command {
  const command = new Command('login')
    .description('Store a server URL and credentials in a profile (0600 file in your config directory)')
    .helpGroup(CLIENT_GROUP)
    .option('--url <url>', 'server URL (default: LOAM_API_BASE_URL, the profile’s, or http://127.0.0.1:8080)')
    .option('--api-key <key>', "API key to store; '-' reads it from stdin (out of shell history and process lists)")
    .option('--client-id <id>', 'OAuth client id, for a client-credentials profile (default: LOAM_CLIENT_ID)')
    .option('--client-secret <secret>', 'OAuth client secret (default: LOAM_CLIENT_SECRET)')
    .option('--scope <scopes>', 'scopes to request for client-credentials tokens')
    .option('--profile <name>', 'name of the profile to store (default: default)');
  withExamples(
    command,
    'loam login --url http://127.0.0.1:8080 --api-key loam_sk_…',
    'echo "$LOAM_KEY" | loam login --api-key - --profile prod --url https://loam.example.com',
    'loam login --client-id cli_… --client-secret … --scope "ai:read"',
  );
  return clientAction<LoginOptions>(command, io, async ({ opts, o }) => {
    const name = opts.profile ?? 'default';
    const previous = loadProfile(name);
    const profile: Profile = {
      baseURL: (opts.url ?? process.env.LOAM_API_BASE_URL ?? previous?.baseURL ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''),
    };
    const clientId = opts.clientId ?? process.env.LOAM_CLIENT_ID;
    const clientSecret = opts.clientSecret ?? process.env.LOAM_CLIENT_SECRET;
    const apiKey = opts.apiKey === '-' ? (await readStdin()).trim() : (opts.apiKey ?? process.env.LOAM_API_KEY);
    if (apiKey && !opts.clientId) profile.apiKey = apiKey;
    else if (clientId && clientSecret) Object.assign(profile, { clientId, clientSecret, scope: opts.scope });
    else throw new UsageError('give --api-key, or --client-id and --client-secret (or LOAM_API_KEY / LOAM_CLIENT_ID + LOAM_CLIENT_SECRET)');

    const loam = clientFor(profile);
    const health = await loam.healthCheck();
    if (!health.ok) throw new LoamError(`${profile.baseURL} is not ready: ${health.error ?? health.status}`);
    if (profile.clientId)
      await loam.auth.token({
        grant_type: 'client_credentials',
        client_id: profile.clientId,
        client_secret: profile.clientSecret,
        scope: profile.scope,
      });
    const path = saveProfile(name, profile);
    const result = { profile: name, baseURL: profile.baseURL, path };
    print(o, result, () => `Logged in to ${profile.baseURL} (profile '${name}', saved in ${path})`);
  });
}

function logout(io: ClientIO): Command {
  const command = new Command('logout')
    .description('Forget a stored profile')
    .helpGroup(CLIENT_GROUP)
    .option('--profile <name>', 'name of the profile to forget (default: default)');
  withExamples(command, 'loam logout', 'loam logout --profile prod');
  return clientAction(command, io, async ({ opts, o }) => {
    const name = opts.profile ?? 'default';
    if (!removeProfile(name)) throw new LoamError(`no profile '${name}' in ${configPath()}`);
    print(o, { ok: true }, () => `Removed profile '${name}'`);
  });
}

export function authCommands(io: ClientIO): Command[] {
  return [login(io), logout(io)];
}
