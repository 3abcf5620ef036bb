import { Loam, type Whoami } from '@loam/sdk';
import { holdsScope } from '@loam/api';

/** How the console signed in: an API key, or a user's access token (the Atriumn login). */
export type Credential = { kind: 'api_key'; apiKey: string } | { kind: 'user'; accessToken: string; email: string };

export interface Session {
  credential: Credential;
  whoami: Whoami;
  loam: Loam;
}

/** Kept for the browser tab only (sessionStorage): closing the tab signs out. */
const STORAGE_KEY = 'loam.console.credential';

export function clientFor(credential?: Credential): Loam {
  const base = { baseURL: location.origin, maxRetries: 1 };
  if (!credential) return new Loam(base);
  return credential.kind === 'api_key'
    ? new Loam({ ...base, apiKey: credential.apiKey })
    : new Loam({ ...base, accessToken: credential.accessToken });
}

/** Checks the credential with the server (`whoami`) and keeps it for the tab. */
export async function signIn(credential: Credential): Promise<Session> {
  const loam = clientFor(credential);
  const whoami = await loam.whoami();
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credential));
  return { credential, whoami, loam };
}

/** Signs in with email and password: the access token stands in for the key. */
export async function signInWithPassword(email: string, password: string): Promise<Session> {
  const tokens = await clientFor().auth.login({ username: email, password });
  return signIn({ kind: 'user', accessToken: tokens.access_token, email });
}

/** The session kept for this tab, if its credential still works. */
export async function resume(): Promise<Session | undefined> {
  const saved = sessionStorage.getItem(STORAGE_KEY);
  if (!saved) return undefined;
  try {
    return await signIn(JSON.parse(saved) as Credential);
  } catch {
    sessionStorage.removeItem(STORAGE_KEY);
    return undefined;
  }
}

/** Forgets the credential; a user's token (and its refresh family) is revoked on the server. */
export async function signOut(session: Session): Promise<void> {
  sessionStorage.removeItem(STORAGE_KEY);
  if (session.credential.kind === 'user')
    await session.loam.auth.logout({ access_token: session.credential.accessToken }).catch(() => undefined);
}

/** Whether the principal holds a scope: the server's own rule, so the console hides what the server would refuse. */
export function hasScope(whoami: Whoami, required: string): boolean {
  return holdsScope(whoami, required);
}
