import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpApp } from './app.ts';
import type { HttpApp } from './app.ts';
import { isWellFormedRequestId } from './request-id.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let app: HttpApp;

beforeAll(async () => {
  app = await buildHttpApp();
  app.get('/echo-id', async (request) => ({ id: request.id }));
  await app.ready();
});
afterAll(() => app.close());

describe('X-Request-Id', () => {
  it('keeps a well-formed id sent by the caller, echoes it and exposes it as request.id', async () => {
    const res = await app.inject({ method: 'GET', url: '/echo-id', headers: { 'x-request-id': 'lb-7f3a:42.1_x' } });
    expect(res.headers['x-request-id']).toBe('lb-7f3a:42.1_x');
    expect(res.json()).toEqual({ id: 'lb-7f3a:42.1_x' });
  });

  it('generates a UUID when the caller sends none', async () => {
    const res = await app.inject({ method: 'GET', url: '/echo-id' });
    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(res.json().id).toBe(res.headers['x-request-id']);
  });

  it('replaces a malformed or oversized id instead of trusting it', async () => {
    for (const sent of ['has space', 'x'.repeat(129), 'semi;colon', '<script>']) {
      const res = await app.inject({ method: 'GET', url: '/echo-id', headers: { 'x-request-id': sent } });
      expect(res.headers['x-request-id']).toMatch(UUID);
    }
  });

  it('is echoed on error responses too', async () => {
    const res = await app.inject({ method: 'GET', url: '/missing', headers: { 'x-request-id': 'trace-1' } });
    expect(res.statusCode).toBe(404);
    expect(res.headers['x-request-id']).toBe('trace-1');
    expect(res.json().requestId).toBe('trace-1');
  });

  it('is checked against 1–128 characters of [A-Za-z0-9._:-]', () => {
    expect(isWellFormedRequestId('a'.repeat(128))).toBe(true);
    expect(isWellFormedRequestId('')).toBe(false);
    expect(isWellFormedRequestId(['a', 'b'])).toBe(false);
  });
});
