import { describe, expect, it } from 'vitest';
import { buildHttpApp } from './app.ts';

describe('/metrics', () => {
  it('exposes default metrics and request durations labelled by route pattern, not raw URL', async () => {
    const app = await buildHttpApp();
    await app.register(
      async (v1) => {
        v1.get('/assets/:id', async (request) => ({ id: (request.params as { id: string }).id }));
      },
      { prefix: '/v1' },
    );
    await app.ready();
    await app.inject({ method: 'GET', url: '/v1/assets/a1' });
    await app.inject({ method: 'GET', url: '/v1/assets/a2' });
    await app.inject({ method: 'GET', url: '/v1/nope/123' });

    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('process_cpu_seconds_total');
    expect(res.body).toContain('http_request_duration_seconds_count{method="GET",route="/v1/assets/:id",status="200"} 2');
    expect(res.body).toContain('http_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1');
    expect(res.body).not.toContain('/v1/assets/a1');
    await app.close();
  });

  it('keeps the metrics of two apps in one process apart', async () => {
    const a = await buildHttpApp();
    const b = await buildHttpApp();
    await a.ready();
    await b.ready();
    await a.inject({ method: 'GET', url: '/healthz' });
    const res = await b.inject({ method: 'GET', url: '/metrics' });
    expect(res.body).not.toContain('route="/healthz"');
    await a.close();
    await b.close();
  });
});
