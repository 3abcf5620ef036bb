import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** What `loam login` stores: where the server is and how to authenticate. */
export interface Profile {
  baseURL: string;
  apiKey?: string;
  clientId?: string;
  clientSecret?: string;
  scope?: string;
}

interface ProfileFile {
  default?: string;
  profiles: Record<string, Profile>;
}

/** `$XDG_CONFIG_HOME/loam/config.json` (else `~/.config/loam`, or `%APPDATA%\loam` on Windows). */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LOAM_CONFIG_FILE) return env.LOAM_CONFIG_FILE;
  const base = env.XDG_CONFIG_HOME || (process.platform === 'win32' && env.APPDATA) || join(homedir(), '.config');
  return join(base, 'loam', 'config.json');
}

function read(path: string): ProfileFile {
  if (!existsSync(path)) return { profiles: {} };
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<ProfileFile>;
  return { default: parsed.default, profiles: parsed.profiles ?? {} };
}

/** Writes atomically with mode 0600 (the file holds secrets) in a 0700 directory. */
function write(path: string, file: ProfileFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export function loadProfile(name?: string, path = configPath()): Profile | undefined {
  const file = read(path);
  return file.profiles[name ?? file.default ?? 'default'];
}

export function saveProfile(name: string, profile: Profile, path = configPath()): string {
  const file = read(path);
  file.profiles[name] = profile;
  file.default ??= name;
  write(path, file);
  return path;
}

export function removeProfile(name: string, path = configPath()): boolean {
  const file = read(path);
  if (!file.profiles[name]) return false;
  delete file.profiles[name];
  if (file.default === name) file.default = Object.keys(file.profiles)[0];
  write(path, file);
  return true;
}
