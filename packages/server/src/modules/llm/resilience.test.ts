import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../platform/errors.js';
import { type TestLoam, createTestLoam } from '../../test/harness.js';
import { LlmTestDouble } from '../../test/llm-test-doubles.js';
import { TokenRestorer } from './privacy.js';
import type { LlmTimer } from './resilience.js';
import { LlmService } from './service.js';
import type { ProviderConfig } from './types.js';

/** A clock that only moves when told, or when the service sleeps (each sleep is recorded). */
class FakeTimer implements LlmTimer {
  ms = 1_000_000;
  readonly sleeps: number[] = [];
  now(): number {
    return this.ms;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.ms += ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

const user = (content: string) => [{ role: 'user' as const, content }];

describe('LLM resilience on a fake clock: retries, Retry-After, circuit breakers, fallback', () => {
  let double: LlmTestDouble;
  let t: TestLoam;
  let timer: FakeTimer;
  let providers: ProviderConfig[];
  const service = () => new LlmService(t.loam.platform, { providers, timer });

  beforeAll(async () => {
    double = await LlmTestDouble.start();
    t = await createTestLoam({
      http: false,
      config: { llmRetryBaseMs: 100, llmMaxRetries: 2, llmRetryMaxDelayMs: 10_000, llmBreakerFailures: 3, llmBreakerCooldownMs: 60_000 },
    });
    providers = [
      { name: 'primary', kind: 'openai', baseUrl: `${double.url}/v1`, apiKey: 'k', models: ['shared', 'solo'] },
      { name: 'backup', kind: 'ollama', baseUrl: double.url, models: ['shared'] },
    ];
  });
  afterAll(async () => {
    await t.close();
    await double.close();
  });
  beforeEach(() => {
    double.reset();
    timer = new FakeTimer();
  });

  it('retries 5xx with exponential backoff and jitter, then succeeds; attempts are reported', async () => {
    double.enqueue({ status: 503 }, { status: 502 });
    const r = await service().chat({ model: 'solo', messages: user('x') });
    expect(r).toMatchObject({ text: 'echo: x', provider: 'primary', attempts: 3 });
    expect(timer.sleeps).toHaveLength(2);
    // base × 2^n × [0.5, 1): 100 → [50, 100), 200 → [100, 200)
    expect(timer.sleeps[0]).toBeGreaterThanOrEqual(50);
    expect(timer.sleeps[0]).toBeLessThan(100);
    expect(timer.sleeps[1]).toBeGreaterThanOrEqual(100);
    expect(timer.sleeps[1]).toBeLessThan(200);
  });

  it('honours Retry-After (seconds) when longer than the backoff', async () => {
    double.enqueue({ status: 429, headers: { 'retry-after': '7' } });
    const r = await service().chat({ model: 'solo', messages: user('y') });
    expect(r.attempts).toBe(2);
    expect(timer.sleeps).toEqual([7000]);
  });

  it('falls back to the next provider serving the model when the first keeps failing', async () => {
    double.enqueue({ status: 500 }, { status: 500 }, { status: 500 });
    const r = await service().chat({ model: 'shared', messages: user('z') });
    expect(r).toMatchObject({ provider: 'backup', text: 'echo: z', attempts: 4 });
    expect(double.requests.map((q) => q.path)).toEqual([
      '/v1/chat/completions',
      '/v1/chat/completions',
      '/v1/chat/completions',
      '/api/chat',
    ]);
  });

  it('a network error falls back too', async () => {
    const llm = new LlmService(t.loam.platform, {
      timer,
      providers: [
        { name: 'gone', kind: 'ollama', baseUrl: 'http://127.0.0.1:9', models: ['m'] },
        { ...providers[1], models: ['m'] },
      ],
    });
    const r = await llm.chat({ model: 'm', messages: user('n') });
    expect(r).toMatchObject({ provider: 'backup', attempts: 4 });
  });

  it('a 4xx (not 429) does not fall back: another provider would refuse the same request', async () => {
    double.enqueue({ status: 400, body: { error: { message: 'bad request' } } });
    await expect(service().chat({ model: 'shared', messages: user('q') })).rejects.toMatchObject({ code: 'llm_upstream_error' });
    expect(double.requests).toHaveLength(1);
  });

  it('the breaker opens after N consecutive failures, skips the provider for the cooldown, then probes it', async () => {
    const llm = service();
    // Three failed attempts in a row on `primary` (one call: 1 + 2 retries): the breaker opens.
    double.enqueue({ status: 500 }, { status: 500 }, { status: 500 });
    expect((await llm.chat({ model: 'shared', messages: user('a') })).provider).toBe('backup');
    expect(llm.breakers.describe('primary')).toEqual({ state: 'open', failures: 3 });

    // During the cooldown `primary` is not called at all.
    timer.advance(30_000);
    double.reset();
    expect((await llm.chat({ model: 'shared', messages: user('b') })).provider).toBe('backup');
    expect(double.requests.map((q) => q.path)).toEqual(['/api/chat']);
    // A model only `primary` serves: 503 with the time left.
    const err = await llm.chat({ model: 'solo', messages: user('c') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'llm_unavailable', status: 503, headers: { 'retry-after': '30' } });

    // After the cooldown one call probes it; a failed probe opens the breaker again at once.
    timer.advance(30_000);
    double.reset();
    double.enqueue({ status: 500 });
    expect((await llm.chat({ model: 'shared', messages: user('d') })).provider).toBe('backup');
    expect(double.requests.map((q) => q.path)).toEqual(['/v1/chat/completions', '/api/chat']);
    expect(llm.breakers.describe('primary').state).toBe('open');

    // A successful probe closes it.
    timer.advance(60_000);
    double.reset();
    expect((await llm.chat({ model: 'shared', messages: user('e') })).provider).toBe('primary');
    expect(llm.breakers.describe('primary')).toEqual({ state: 'closed', failures: 0 });
  });

  it('a provider paused by Retry-After is skipped while another can serve', async () => {
    const llm = service();
    double.enqueue({ status: 429, headers: { 'retry-after': '60' } });
    // 60 s exceeds nothing (max delay 10 s → this provider gives up at once), so the call falls back.
    expect((await llm.chat({ model: 'shared', messages: user('p') })).provider).toBe('backup');
    double.reset();
    expect((await llm.chat({ model: 'shared', messages: user('p2') })).provider).toBe('backup');
    expect(double.requests.map((q) => q.path)).toEqual(['/api/chat']);
  });
});

describe('TokenRestorer', () => {
  const restorer = () =>
    new TokenRestorer(
      new Map([
        ['<EMAIL_ADDRESS_1>', 'ada@example.com'],
        ['<PERSON_1>', 'Ada Lovelace'],
        ['<PERSON_12>', 'Charles Babbage'],
      ]),
    );

  it('restores whole answers', () => {
    expect(restorer().restore('Dear <PERSON_1>, mail <EMAIL_ADDRESS_1>; <OTHER_1> stays')).toBe(
      'Dear Ada Lovelace, mail ada@example.com; <OTHER_1> stays',
    );
  });

  it('restores tokens split at every possible point of a stream', () => {
    const answer = 'Hi <PERSON_1> and <PERSON_12> at <EMAIL_ADDRESS_1>. 1 < 2 <b>ok</b> <';
    const expected = 'Hi Ada Lovelace and Charles Babbage at ada@example.com. 1 < 2 <b>ok</b> <';
    for (let size = 1; size <= 8; size++) {
      const r = restorer();
      let out = '';
      for (let i = 0; i < answer.length; i += size) out += r.push(answer.slice(i, i + size));
      out += r.flush();
      expect(out).toBe(expected);
    }
  });
});
