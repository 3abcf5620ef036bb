import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, eventually } from '../../test/harness.js';
import { maskEmail } from './mail.js';
import { PASSWORD, bearer, confirmedUser, login, signup } from './testing.js';

describe('maskEmail', () => {
  it('keeps the first letters and the top-level domain', () => {
    expect(maskEmail('test@example.com')).toBe('t***@e***.com');
    expect(maskEmail('a.b@mail.example.co.uk')).toBe('a***@m***.uk');
    expect(maskEmail('x@localhost')).toBe('x***@l***');
  });
});

describe('identity: mail over SMTP (LOAM_SMTP_URL)', () => {
  const received: { from: string; to: string[]; raw: string; user?: string }[] = [];
  let smtp: SMTPServer;
  let t: TestLoam;
  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: false,
      allowInsecureAuth: true,
      hideSTARTTLS: true,
      onAuth(auth, _session, cb) {
        if (auth.username === 'mailer' && auth.password === 'p@ss word') cb(null, { user: auth.username });
        else cb(new Error('bad credentials'));
      },
      onData(stream, session, cb) {
        let raw = '';
        stream.on('data', (c: Buffer) => {
          raw += c.toString();
        });
        stream.on('end', () => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            user: session.user as string | undefined,
          });
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    const port = (smtp.server.address() as AddressInfo).port;
    t = await createTestLoam({
      config: {
        rateLimitMultiplier: 1000,
        smtpUrl: `smtp://mailer:${encodeURIComponent('p@ss word')}@127.0.0.1:${port}`,
        mailFrom: 'Loam <auth@loam.test>',
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await new Promise<void>((r) => smtp.close(() => r()));
  });

  const codeIn = (raw: string) => /code is (\d{6})/.exec(raw)?.[1];

  it('signup mails the confirmation code through the SMTP server, authenticated', async () => {
    await signup(t, 'smtp@example.com');
    const mail = (await eventually(() => received.find((m) => m.to.includes('smtp@example.com'))))!;
    expect(mail.from).toBe('auth@loam.test');
    expect(mail.user).toBe('mailer');
    expect(mail.raw).toMatch(/Subject: Your Loam confirmation code/);
    const code = codeIn(mail.raw);
    expect(code).toMatch(/^\d{6}$/);
    const res = await t.app.inject({
      method: 'POST',
      url: '/auth/signup/confirm',
      payload: { username: 'smtp@example.com', confirmation_code: code },
    });
    expect(res.statusCode).toBe(200);
  });

  it('password reset mails a code that sets a new password', async () => {
    await t.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { email: 'smtp@example.com' } });
    const mail = (await eventually(() => received.find((m) => m.to.includes('smtp@example.com') && /reset code/.test(m.raw))))!;
    const res = await t.app.inject({
      method: 'POST',
      url: '/auth/password/confirm',
      payload: { email: 'smtp@example.com', code: codeIn(mail.raw), new_password: 'smtp new password' },
    });
    expect(res.statusCode).toBe(200);
    await login(t, 'smtp@example.com', 'smtp new password');
  });

  it('the development mailbox is off when SMTP is configured', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/admin/mailbox', headers: t.admin });
    expect(res.statusCode).toBe(404);
  });
});

describe('identity: an unreachable SMTP server', () => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ config: { rateLimitMultiplier: 1000, smtpUrl: 'smtp://127.0.0.1:1' } });
  });
  afterAll(() => t.close());

  it('does not fail the signup (the user can ask for the code again)', async () => {
    await signup(t, 'nomail@example.com');
    await t.loam.services.identity.users.flush();
  });
});

describe('identity: development mailbox', () => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ config: { rateLimitMultiplier: 1000 } });
  });
  afterAll(() => t.close());

  it('admins read the mail Loam would have sent; newest first; filter by recipient', async () => {
    await signup(t, 'box1@example.com');
    await signup(t, 'box2@example.com');
    await t.loam.services.identity.users.flush();
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/admin/mailbox', headers: t.admin });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('success');
    expect(res.json().data.map((m: { to: string }) => m.to)).toEqual(['box2@example.com', 'box1@example.com']);
    expect(res.json().data[0]).toEqual({
      id: expect.any(String),
      tenant_id: 'default',
      to: 'box2@example.com',
      subject: 'Your Loam confirmation code',
      text: expect.stringMatching(/code is \d{6}/),
      created_at: expect.stringMatching(/Z$/),
    });
    const one = await t.app.inject({ method: 'GET', url: '/api/v1/admin/mailbox?to=box1@example.com', headers: t.admin });
    expect(one.json().data).toHaveLength(1);
  });

  it('is refused to users without the admin scope and scoped to the tenant', async () => {
    await confirmedUser(t, 'reader@example.com');
    const { access_token } = await login(t, 'reader@example.com', PASSWORD);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/admin/mailbox', headers: bearer(access_token) })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/admin/mailbox' })).statusCode).toBe(401);
    await t.loam.platform.transaction((tx) => t.loam.services.tenants.ensure(tx, 'tenant-b', 'B'));
    const key = await t.loam.services.apiKeys.create('tenant-b', { name: 'b admin', scopes: ['admin'] });
    const other = await t.app.inject({ method: 'GET', url: '/api/v1/admin/mailbox', headers: { 'x-api-key': key.key } });
    expect(other.statusCode).toBe(200);
    expect(other.json().data).toEqual([]);
    const foreign = await t.app.inject({
      method: 'GET',
      url: '/api/v1/admin/mailbox?tenant_id=default',
      headers: { 'x-api-key': key.key },
    });
    expect(foreign.statusCode).toBe(403);
  });
});

describe('identity: development mailbox with NODE_ENV=production', () => {
  let t: TestLoam;
  const before = process.env.NODE_ENV;
  beforeAll(async () => {
    process.env.NODE_ENV = 'production';
    try {
      t = await createTestLoam({ config: { rateLimitMultiplier: 1000 } });
    } finally {
      process.env.NODE_ENV = before;
    }
  });
  afterAll(() => t.close());

  it('answers 404', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/admin/mailbox', headers: t.admin });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('not_found');
  });
});
