/**
 * An answer given before the request body was read — a refusal by a hook (401, 403, 429), of
 * the URL (400), the content type (415) or the declared length (413), a 404 — waits for the rest
 * of the body when the connection closes after it: the client sent `Connection: close`, or the
 * answer says so (fastify closes after every body it refuses). Node.js destroys the socket as
 * soon as such an answer is written; with part of the body still unread in it, the kernel resets
 * the connection, and a client still sending sees EPIPE or ECONNRESET instead of the answer. On
 * a connection kept alive, Node.js reads and drops the rest of the body itself, after the answer.
 */
import { finished } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Largest declared body an answer waits for; one larger, or of no declared length, is cut off. */
export const MAX_DRAINED_BODY = 16 * 1024 * 1024;

/** Longest an answer waits for the rest of a body, so a client that stops sending cannot hold it. */
export const MAX_DRAIN_MS = 10_000;

/**
 * Calls `send` once the rest of the request body has arrived if the connection closes after the
 * answer and the body is at most {@link MAX_DRAINED_BODY}; at once otherwise.
 */
export function afterUnreadBody(request: FastifyRequest, reply: FastifyReply, send: () => void): void {
  const raw = request.raw;
  // Most answers follow a body read whole: nothing more is looked at for them.
  const closes = () => !reply.raw.shouldKeepAlive || /close/i.test(String(reply.getHeader('connection') ?? ''));
  if (raw.complete || !closes() || !(Number(raw.headers['content-length']) <= MAX_DRAINED_BODY)) {
    send();
    return;
  }
  let waiting = true;
  const go = () => {
    if (!waiting) return;
    waiting = false;
    clearTimeout(timer);
    send();
  };
  const timer = setTimeout(go, MAX_DRAIN_MS);
  finished(raw, go);
  raw.resume();
}

/** Holds every answer as {@link afterUnreadBody} says. */
export function installUnreadBodyDrain(app: FastifyInstance): void {
  // A callback hook, not an async one: it runs on every answer and waits only for a body still on its way.
  app.addHook('onSend', (request, reply, payload, done) => {
    afterUnreadBody(request, reply, () => done(null, payload));
  });
}
