import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { WebhookVerificationError, verifyWebhook } from '@loam/sdk';
import { type CloudEvent, HTTP } from 'cloudevents';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Received, receiver } from './testing.js';
import { ManualClock, type TestLoam, apiCaller, createTestLoam, describeEachDialect, eventually } from '../../test/harness.js';

type Json = any;

/** The seed's check: hex HMAC-SHA256 of timestamp + body under the secret string. */
const vaultSignatureValid = (secret: string, headers: IncomingHttpHeaders, body: string) =>
  String(headers['x-llm-vault-signature'])
    .split(',')
    .includes(`sha256=${createHmac('sha256', secret).update(`${headers['x-llm-vault-timestamp']}${body}`).digest('hex')}`);

describeEachDialect('webhooks', (dialect) => {
  let t: TestLoam;
  let rx: Awaited<ReturnType<typeof receiver>>;
  let status = 200;
  const api = apiCaller(() => t);

  beforeAll(async () => {
    t = await createTestLoam({
      dialect,
      config: { rateLimitEnabled: false, webhookAllowPrivateTargets: true, relayPollMs: 20, jobPollMs: 20 },
    });
    rx = await receiver(() => status);
    t.loam.startBackground({ workers: 4, relay: true });
    await t.loam.platform.events.deliverPending();
  });
  afterAll(async () => {
    await t.close();
    await rx.close();
  });

  it('creates an endpoint with a whsec_ secret shown once and stored encrypted; validates input', async () => {
    const r = await api('POST', '/api/v1/webhooks', {
      url: `${rx.url}/crud`,
      events: ['prompt.*'],
      description: 'd',
      metadata: { team: 'x' },
    });
    expect(r.status).toBe(201);
    expect(r.headers.location).toBe(`/api/v1/webhooks/${r.json.data.id}`);
    const { id, secret } = r.json.data;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(r.json.data).toMatchObject({ active: true, format: 'cloudevents', retry_schedule: [1, 2, 4, 8], max_consecutive_failures: 100 });
    const got = await api('GET', `/api/v1/webhooks/${id}`);
    expect(got.json.data.secret).toBeUndefined();
    const stored = await t.loam.platform.database.db.selectFrom('webhooks').select('secret').where('id', '=', id).executeTakeFirstOrThrow();
    expect(stored.secret).not.toContain(secret.slice(6, 20));
    expect((await api('PATCH', `/api/v1/webhooks/${id}`, { description: 'new', active: false })).json.data).toMatchObject({
      description: 'new',
      active: false,
    });
    expect((await api('GET', '/api/v1/webhooks')).json.data.map((w: Json) => w.id)).toContain(id);
    expect((await api('POST', '/api/v1/webhooks', { url: 'ftp://example.com/x' })).status).toBe(400);
    expect((await api('POST', '/api/v1/webhooks', { url: `${rx.url}/x`, secret: 'plain' })).status).toBe(400);
    expect((await api('POST', '/api/v1/webhooks', { url: `${rx.url}/x`, events: ['DROP TABLE'] })).status).toBe(400);
    expect((await api('POST', '/api/v1/webhooks', { url: `${rx.url}/x`, retry_schedule: [3601] })).status).toBe(400);
    t.loam.platform.config.webhookAllowPrivateTargets = false;
    try {
      const refused = await api('POST', '/api/v1/webhooks', { url: 'http://169.254.169.254/latest' });
      expect(refused.status).toBe(400);
      expect((await api('POST', '/api/v1/webhooks', { url: 'http://10.0.0.1/hook' })).status).toBe(400);
    } finally {
      t.loam.platform.config.webhookAllowPrivateTargets = true;
    }
    expect((await api('DELETE', `/api/v1/webhooks/${id}`)).status).toBe(204);
    expect((await api('GET', `/api/v1/webhooks/${id}`)).status).toBe(404);
  });

  it('signs every delivery for Standard Webhooks and the seed’s headers; the body is a valid CloudEvent', async () => {
    const r = await api('POST', '/api/v1/webhooks', { url: `${rx.url}/signed`, events: ['dataset.created'] });
    const { id, secret } = r.json.data;
    const ds = await api('POST', '/api/v1/datasets', { name: 'hooked', schema: { fields: [{ name: 'a', type: 'string' }] } });
    expect(ds.status).toBe(201);
    const req = (await eventually(() => rx.got.find((g) => g.path === '/signed'))) as Received;
    // Standard Webhooks, verified by its own library.
    const verified = new Webhook(secret).verify(req.body, req.headers as Record<string, string>) as Json;
    expect(verified.type).toBe('io.loam.dataset.created');
    expect(verified.data.id).toBe(ds.json.data.id);
    expect(vaultSignatureValid(secret, req.headers, req.body)).toBe(true);
    // The SDK's receiver helper agrees, and refuses another secret.
    expect(((await verifyWebhook(req.body, req.headers as Record<string, string>, secret)) as Json).id).toBe(verified.id);
    await expect(
      verifyWebhook(req.body, req.headers as Record<string, string>, `whsec_${Buffer.alloc(32, 1).toString('base64')}`),
    ).rejects.toThrow(WebhookVerificationError);
    expect(req.headers['x-llm-vault-event']).toBe('io.loam.dataset.created');
    expect(req.headers['x-llm-vault-delivery']).toBe(req.headers['webhook-id']);
    // A tampered body fails both.
    expect(() => new Webhook(secret).verify(`${req.body} `, req.headers as Record<string, string>)).toThrow();
    expect(vaultSignatureValid(secret, req.headers, `${req.body} `)).toBe(false);
    // The cloudevents SDK reads it as a structured-mode CloudEvent and validates it.
    const [event] = [HTTP.toEvent({ headers: req.headers as Record<string, string>, body: req.body })].flat() as CloudEvent<Json>[];
    expect(event.validate()).toBe(true);
    expect(event.type).toBe('io.loam.dataset.created');
    expect(event.tenantid).toBe('default');
    const deliveries = await eventually(async () => {
      const list = (await api('GET', `/api/v1/webhooks/${id}/deliveries`)).json.data;
      return list[0]?.status === 'succeeded' ? list : undefined;
    });
    expect(deliveries[0].attempts[0]).toMatchObject({ attempt: 1, status_code: 200, response: 'ok', error: null });
  });

  it('the llm-vault format sends the seed’s body shape, signed the same way', async () => {
    const r = await api('POST', '/api/v1/webhooks', { url: `${rx.url}/vault`, events: ['prompt.created'], format: 'llm-vault' });
    const { id, secret } = r.json.data;
    await t.loam.platform.transaction((tx) =>
      t.loam.platform.events.emit(tx, 'prompt.created', 'pr_1', { id: 'pr_1', name: 'n', version: 1 }, { tenantId: 'default' }),
    );
    const req = (await eventually(() => rx.got.find((g) => g.path === '/vault'))) as Received;
    const body = JSON.parse(req.body);
    expect(body).toMatchObject({
      event: { type: 'prompt.created' },
      data: { id: 'pr_1' },
      webhook: { id, delivery_id: req.headers['webhook-id'] },
    });
    expect(Object.keys(body.event).sort()).toEqual(['id', 'timestamp', 'type']);
    expect(vaultSignatureValid(secret, req.headers, req.body)).toBe(true);
    new Webhook(secret).verify(req.body, req.headers as Record<string, string>);
  });

  it('after a rotation both secrets sign during the grace period; test and replay send again', async () => {
    const r = await api('POST', '/api/v1/webhooks', { url: `${rx.url}/rotate`, events: ['prompt.deleted'] });
    const { id, secret: old } = r.json.data;
    const rotated = await api('POST', `/api/v1/webhooks/${id}/rotate-secret`, { grace_period_seconds: 600 });
    expect(rotated.status).toBe(200);
    const fresh = rotated.json.data.secret;
    expect(fresh).not.toBe(old);
    expect(rotated.json.data.previous_secret_expires_at).not.toBeNull();
    const since = new Date(Date.now() - 1000).toISOString();
    await t.loam.platform.transaction((tx) =>
      t.loam.platform.events.emit(tx, 'prompt.deleted', 'pr_9', { id: 'pr_9' }, { tenantId: 'default' }),
    );
    const req = (await eventually(() => rx.got.find((g) => g.path === '/rotate'))) as Received;
    for (const s of [old, fresh]) {
      new Webhook(s).verify(req.body, req.headers as Record<string, string>);
      expect(vaultSignatureValid(s, req.headers, req.body)).toBe(true);
    }
    const test = await api('POST', `/api/v1/webhooks/${id}/test`);
    expect(test.status).toBe(202);
    expect(test.json.data).toMatchObject({ kind: 'test', event_type: 'io.loam.webhook.test' });
    const replay = await api('POST', `/api/v1/webhooks/${id}/replay`, { since });
    expect(replay.json.data).toEqual({ enqueued: 1, truncated: false });
    await eventually(() => rx.got.filter((g) => g.path === '/rotate').length === 3);
    const bodies = rx.got.filter((g) => g.path === '/rotate').map((g) => JSON.parse(g.body));
    expect(bodies.map((b) => b.type).sort()).toEqual(['io.loam.prompt.deleted', 'io.loam.prompt.deleted', 'io.loam.webhook.test']);
    // The replayed event is the same event in a new delivery.
    expect(bodies.filter((b) => b.type === 'io.loam.prompt.deleted').map((b) => b.id)[0]).toBe(
      bodies.find((b) => b.type === 'io.loam.prompt.deleted').id,
    );
  });

  it('sends at most the endpoint’s concurrency at once', async () => {
    let open = 0;
    let most = 0;
    const slow = await receiver(async () => {
      most = Math.max(most, ++open);
      await new Promise((r) => setTimeout(r, 30));
      open--;
      return 200;
    });
    try {
      await api('POST', '/api/v1/webhooks', { url: `${slow.url}/slow`, events: ['storage.object_stored'], concurrency: 3 });
      await t.loam.platform.transaction(async (tx) => {
        for (let i = 0; i < 20; i++)
          await t.loam.platform.events.emit(tx, 'storage.object_stored', `pr_${i}`, { id: `pr_${i}` }, { tenantId: 'default' });
      });
      await eventually(() => slow.got.length === 20);
      // (Without the limit all 20 would be sent at once.)
      expect(most).toBeLessThanOrEqual(3);
    } finally {
      await slow.close();
    }
  });

  it('410 Gone disables the endpoint at once and emits webhook.disabled; redirects are not followed', async () => {
    const gone = await api('POST', '/api/v1/webhooks', { url: `${rx.url}/gone`, events: ['storage.object_deleted'] });
    const redirect = await api('POST', '/api/v1/webhooks', {
      url: `${rx.url}/redirect`,
      events: ['storage.object_deleted'],
      retry_schedule: [],
    });
    status = 410;
    const answer = rx.got.length;
    await t.loam.platform.transaction((tx) =>
      t.loam.platform.events.emit(tx, 'storage.object_deleted', 'k', { key: 'k' }, { tenantId: 'default' }),
    );
    await eventually(async () => !(await api('GET', `/api/v1/webhooks/${gone.json.data.id}`)).json.data.active);
    status = 200;
    expect(rx.got.length).toBeGreaterThan(answer);
    const hook = (await api('GET', `/api/v1/webhooks/${gone.json.data.id}`)).json.data;
    expect(hook.disabled_reason).toBe('gone');
    const disabled = await eventually(
      async () => (await api('GET', `/api/v1/events?type=webhook.disabled&subject=${gone.json.data.id}`)).json.data[0],
    );
    expect(disabled.data).toMatchObject({ id: gone.json.data.id, reason: 'gone' });
    // Re-enabling starts afresh.
    expect((await api('PATCH', `/api/v1/webhooks/${gone.json.data.id}`, { active: true })).json.data).toMatchObject({
      active: true,
      disabled_reason: null,
    });
    await api('DELETE', `/api/v1/webhooks/${redirect.json.data.id}`);
  });
});

describe('webhook retries (fake clock)', () => {
  let t: TestLoam;
  let rx: Awaited<ReturnType<typeof receiver>>;
  const clock = new ManualClock(Date.now());
  const api = apiCaller(() => t);
  /** One relay pass and every due delivery and job, as the background would after `ms` more. */
  const tick = async (ms = 0) => {
    clock.advance(ms);
    await t.loam.platform.events.deliverPending();
    await t.loam.services.webhooks.dispatcher.drain();
    await t.loam.platform.jobs.drain();
  };

  beforeAll(async () => {
    t = await createTestLoam({ clock, config: { rateLimitEnabled: false, webhookAllowPrivateTargets: true } });
    rx = await receiver((r) => (r.path === '/ok' ? 200 : r.path === '/redirect' ? 302 : 500));
    await tick();
  });
  afterAll(async () => {
    await t.close();
    await rx.close();
  });

  const emit = (type = 'prompt.created') =>
    t.loam.platform.transaction((tx) =>
      t.loam.platform.events.emit(tx, type, 'pr_1', { id: 'pr_1', name: 'n', version: 1 }, { tenantId: 'default' }),
    );

  it('follows the seed’s schedule (now, 1 s, 2 s, 4 s, 8 s), then keeps the delivery as failed; retry sends it once more', async () => {
    const { id } = (await api('POST', '/api/v1/webhooks', { url: `${rx.url}/fail`, events: ['prompt.created'] })).json.data;
    await emit();
    await tick();
    for (const wait of [999, 1, 1999, 1, 3999, 1, 7999, 1]) await tick(wait);
    const [d] = (await api('GET', `/api/v1/webhooks/${id}/deliveries?status=failed`)).json.data;
    expect(d.status).toBe('failed');
    const starts = d.attempts.map((a: Json) => Date.parse(a.started_at));
    expect(starts.slice(1).map((s: number, i: number) => s - starts[i])).toEqual([1000, 2000, 4000, 8000]);
    expect(d.attempts.every((a: Json) => a.status_code === 500 && a.response.length === 1024)).toBe(true);
    expect(rx.got.filter((g) => g.path === '/fail')).toHaveLength(5);
    await tick(3_600_000);
    expect(rx.got.filter((g) => g.path === '/fail')).toHaveLength(5);
    const retried = await api('POST', `/api/v1/webhooks/${id}/deliveries/${d.id}/retry`);
    expect(retried.status).toBe(202);
    expect((await api('POST', `/api/v1/webhooks/${id}/deliveries/${d.id}/retry`)).status).toBe(409);
    await tick();
    expect(rx.got.filter((g) => g.path === '/fail')).toHaveLength(6);
    await api('DELETE', `/api/v1/webhooks/${id}`);
  });

  it('a custom schedule applies; a redirect counts as a failure with its status', async () => {
    const { id } = (await api('POST', '/api/v1/webhooks', { url: `${rx.url}/redirect`, events: ['prompt.updated'], retry_schedule: [60] }))
      .json.data;
    await emit('prompt.updated');
    await tick();
    await tick(59_999);
    expect(rx.got.filter((g) => g.path === '/redirect')).toHaveLength(1);
    await tick(1);
    const [d] = (await api('GET', `/api/v1/webhooks/${id}/deliveries`)).json.data;
    expect(d.attempts.map((a: Json) => a.status_code)).toEqual([302, 302]);
    expect(d.status).toBe('failed');
    await api('DELETE', `/api/v1/webhooks/${id}`);
  });

  it('a receiver that fails 100 times in a row disables the endpoint and emits webhook.disabled', async () => {
    const { id } = (await api('POST', '/api/v1/webhooks', { url: `${rx.url}/down`, events: ['prompt.deleted'], retry_schedule: [] })).json
      .data;
    for (let i = 0; i < 101; i++) await emit('prompt.deleted');
    await tick();
    const hook = (await api('GET', `/api/v1/webhooks/${id}`)).json.data;
    expect(hook).toMatchObject({ active: false, disabled_reason: 'too_many_failures', consecutive_failures: 100 });
    // The 101st was not sent: the endpoint was disabled by then.
    expect(rx.got.filter((g) => g.path === '/down')).toHaveLength(100);
    const ev = (await api('GET', `/api/v1/events?type=webhook.disabled&subject=${id}`)).json.data;
    expect(ev).toHaveLength(1);
    expect(ev[0].data).toMatchObject({ reason: 'too_many_failures', consecutive_failures: 100 });
  });
});
