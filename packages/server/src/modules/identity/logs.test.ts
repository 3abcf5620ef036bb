import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Loam, createLoam } from '../../app.js';
import { loadConfig } from '../../config.js';
import { LOG_REDACT } from '../../platform/index.js';
import { TEST_ADMIN_KEY, type TestLoam } from '../../test/harness.js';
import { bearer, credential, latestCode, login } from './testing.js';

/**
 * Every identity flow runs with the log at `trace`; afterwards no password, client secret,
 * token or mailed code may appear anywhere in what was logged.
 */
describe('identity: secrets never reach the logs', () => {
  const lines: string[] = [];
  let loam: Loam;
  let t: TestLoam;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'loam-logs-'));
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const logger = pino(
      { level: 'trace', timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: LOG_REDACT, censor: '[redacted]' } },
      sink,
    );
    const config = loadConfig({}, { dataDir, logLevel: 'trace', adminApiKey: TEST_ADMIN_KEY, rateLimitMultiplier: 1000 });
    loam = await createLoam(config, { logger });
    await loam.migrate();
    await loam.bootstrap();
    const app = await loam.http();
    await app.ready();
    t = { loam, app, admin: { 'x-api-key': TEST_ADMIN_KEY } } as unknown as TestLoam;
  });
  afterAll(async () => {
    await loam.close(1000);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('passwords, client secrets, tokens and codes are absent from every log line', async () => {
    const secrets: string[] = [];
    const password = 'Pa55word-that-must-not-leak';
    const newPassword = 'An0ther-password-that-must-not-leak';
    secrets.push(password, newPassword);
    const inject = t.app.inject.bind(t.app);

    expect((await inject({ method: 'POST', url: '/auth/signup', payload: { email: 'logs@example.com', password } })).statusCode).toBe(201);
    const signupCode = await latestCode(t, 'logs@example.com');
    await inject({ method: 'POST', url: '/auth/signup/confirm', payload: { username: 'logs@example.com', confirmation_code: signupCode } });
    await inject({ method: 'POST', url: '/auth/login', payload: { username: 'logs@example.com', password: 'wrong-Pa55word-guess' } });
    secrets.push('wrong-Pa55word-guess');
    const session = await login(t, 'logs@example.com', password);
    secrets.push(session.access_token, session.id_token, session.refresh_token);
    const basic = await inject({
      method: 'POST',
      url: '/auth/login',
      headers: { authorization: `Basic ${Buffer.from(`logs@example.com:${password}`).toString('base64')}` },
    });
    secrets.push(basic.json().access_token, basic.json().refresh_token, Buffer.from(`logs@example.com:${password}`).toString('base64'));
    await inject({ method: 'GET', url: '/auth/me', headers: bearer(session.access_token) });
    await inject({ method: 'GET', url: '/auth/me', headers: bearer(`${session.access_token}tampered`) });
    const refreshed = await inject({
      method: 'POST',
      url: '/auth/token',
      payload: { grant_type: 'refresh_token', refresh_token: session.refresh_token },
    });
    secrets.push(refreshed.json().access_token, refreshed.json().refresh_token);
    await inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'refresh_token', refresh_token: session.refresh_token } }); // reuse

    const c = await credential(t, ['storage']);
    secrets.push(c.client_secret);
    const json = await inject({
      method: 'POST',
      url: '/auth/token',
      payload: { grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret },
    });
    const form = await inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=client_credentials&client_id=${c.client_id}&client_secret=${c.client_secret}`,
    });
    await inject({
      method: 'POST',
      url: '/auth/token',
      payload: { grant_type: 'client_credentials', client_id: c.client_id, client_secret: `${c.client_secret}-bad` },
    });
    secrets.push(json.json().access_token, form.json().access_token);

    await inject({ method: 'POST', url: '/auth/logout', payload: { access_token: basic.json().access_token } });
    await inject({ method: 'POST', url: '/auth/password/reset', payload: { email: 'logs@example.com' } });
    const resetCode = await latestCode(t, 'logs@example.com');
    await inject({
      method: 'POST',
      url: '/auth/password/confirm',
      payload: { email: 'logs@example.com', code: resetCode, new_password: newPassword },
    });
    await inject({ method: 'POST', url: '/auth/signup', payload: { email: 'weak@example.com', password: 'short' } });
    secrets.push(TEST_ADMIN_KEY);

    const log = lines.join('');
    expect(lines.length).toBeGreaterThan(20); // the log was really captured
    expect(log).toContain('mail stored in the development mailbox');
    for (const secret of secrets) expect(log.includes(secret), `leaked: ${secret.slice(0, 12)}…`).toBe(false);
    // Six-digit codes could occur inside longer numbers (timestamps); look for them standing alone.
    for (const code of [signupCode, resetCode]) expect(new RegExp(`(?<![0-9])${code}(?![0-9])`).test(log), 'code leaked').toBe(false);
  });
});
