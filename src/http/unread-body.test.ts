import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpApp } from './app.ts';
import type { HttpApp } from './app.ts';
import { ApiError } from './errors.ts';

let app: HttpApp;
let port: number;

beforeAll(async () => {
  app = await buildHttpApp();
  app.addHook('onRequest', (request, _reply, done) => {
    done(request.headers.authorization ? undefined : new ApiError('UNAUTHENTICATED', 'Send a token.'));
  });
  app.post('/v1/things', async (request) => request.body);
  app.post('/v1/things/:id', async (request) => request.body);
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as AddressInfo).port;
});
afterAll(() => app.close());

/** Far more than loopback socket buffers hold: the client is still sending when the answer is ready. */
const BODY = Buffer.alloc(8 * 1024 * 1024, 0x20);

/**
 * Sends a request whole before reading anything, as many clients do; resolves with the status
 * line of the answer, or the code of the error that cut the request off.
 */
function sendWhole(head: string, path = '/v1/things'): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.pause();
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('end', () => resolve(answer.split('\r\n', 1)[0]));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
    socket.write(`POST ${path} HTTP/1.1\r\nhost: rema\r\ncontent-type: application/json\r\n${head}content-length: ${BODY.length}\r\n\r\n`);
    socket.write(BODY, () => socket.resume());
  });
}

describe('answers given before the body is read', () => {
  it('reach a client that asked to close the connection', async () => {
    expect(await sendWhole('connection: close\r\n')).toBe('HTTP/1.1 401 Unauthorized');
  });

  it('reach a client that asked to close the connection when the URL itself is refused', async () => {
    expect(await sendWhole('connection: close\r\n', '/v1/things/%E0%A4%A')).toBe('HTTP/1.1 400 Bad Request');
  });

  it('reach the client when the answer closes the connection (a body over the limit)', async () => {
    expect(await sendWhole('authorization: Bearer x\r\n')).toBe('HTTP/1.1 413 Payload Too Large');
  });
});
