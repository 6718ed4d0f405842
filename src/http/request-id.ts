/**
 * Request ids: a caller's `X-Request-Id` is kept when it is well formed, otherwise one is
 * generated. The id is `request.id`, labels every log line, is echoed in the response and
 * goes into every audit event.
 *
 * fastify's `requestIdHeader` option would trust any header value verbatim, so it stays off
 * and {@link genRequestId} (the `genReqId` option) reads and checks the header itself.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { newId } from '../core/ids.ts';

export const REQUEST_ID_HEADER = 'x-request-id';

const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/;

/** True when `value` may be used as a request id as sent: 1–128 of `[A-Za-z0-9._:-]`. */
export function isWellFormedRequestId(value: unknown): value is string {
  return typeof value === 'string' && WELL_FORMED.test(value);
}

/**
 * The `genReqId` option: the caller's well-formed `X-Request-Id`, or a new UUID.
 *
 * @example
 * Fastify({ genReqId: genRequestId, requestIdHeader: false });
 */
export function genRequestId(raw: IncomingMessage): string {
  const sent = raw.headers[REQUEST_ID_HEADER];
  return isWellFormedRequestId(sent) ? sent : newId();
}

/** fastify options that make {@link genRequestId} the source of `request.id`. */
export const requestIdOptions = {
  genReqId: genRequestId,
  requestIdHeader: false,
} as const;

/** Echoes `request.id` as `X-Request-Id` on every response, errors included. */
export function installRequestIdEcho(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
}
