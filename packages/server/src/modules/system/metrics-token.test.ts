import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam } from '../../test/harness.js';

describe('/metrics', () => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ config: { metricsToken: 'metrics-secret-0123456789' } });
  });
  afterAll(() => t.close());

  it('needs the bearer token when LOAM_METRICS_TOKEN is set, and carries the data-vault metric names', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    const wrong = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['www-authenticate']).toContain('Bearer');
    await t.app.inject({ method: 'GET', url: '/api/v1/datasets', headers: t.admin });
    await t.app.inject({ method: 'GET', url: '/api/v1/whoami', headers: t.admin });
    const ok = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer metrics-secret-0123456789' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toMatch(/api_request_count\{method="GET",route="\/api\/v1\/whoami",status="200"\} 1/);
    expect(ok.body).toMatch(/dataset_operation_duration_seconds_count\{operation="GET \/api\/v1\/datasets"\} 1/);
    expect(ok.body).toContain('# TYPE record_anonymization_duration_seconds histogram');
    expect(ok.body).toContain('# TYPE storage_bytes_used gauge');
    expect(ok.body).toContain('loam_http_requests_total');
  });
});
