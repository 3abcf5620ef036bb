/**
 * `npm test` runs every test the machine can: PostgreSQL, Redis and NATS listening on their
 * default local ports are used without any LOAM_TEST_* variable (an explicit one still wins;
 * LOAM_TEST_DETECT=0 turns detection off). Used by the Vitest global setup.
 */
import { connect } from 'node:net';

export interface LocalService {
  name: string;
  env: string;
  port: number;
  url(port: number): string;
}

export const DEFAULT_SERVICES: LocalService[] = [
  { name: 'PostgreSQL', env: 'LOAM_TEST_POSTGRES_URL', port: 5432, url: (p) => `postgres://postgres@127.0.0.1:${p}/postgres` },
  { name: 'Redis', env: 'LOAM_TEST_REDIS_URL', port: 6379, url: (p) => `redis://127.0.0.1:${p}` },
  { name: 'NATS', env: 'LOAM_TEST_NATS_URL', port: 4222, url: (p) => `nats://127.0.0.1:${p}` },
];

/** Whether something accepts TCP connections on 127.0.0.1:`port` (within `timeoutMs`). */
function listening(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Sets the variable of every service found listening (unless already set); returns one summary line. */
export async function detectLocalServices(env: Record<string, string | undefined>, services = DEFAULT_SERVICES): Promise<string> {
  if (env.LOAM_TEST_DETECT === '0') return 'test services: detection off (LOAM_TEST_DETECT=0)';
  const found = await Promise.all(services.map((s) => (env[s.env] ? Promise.resolve(true) : listening(s.port))));
  const parts = services.map((s, i) => {
    if (env[s.env]) return `${s.name} from ${s.env}`;
    if (!found[i]) return `${s.name} not found (tests needing it are skipped)`;
    env[s.env] = s.url(s.port);
    return `${s.name} found on 127.0.0.1:${s.port}`;
  });
  return `test services: ${parts.join('; ')}`;
}
