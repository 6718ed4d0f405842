/**
 * `/healthz`: the process is alive. `/readyz`: it can serve, i.e. every dependency check
 * (database, broker, …) passes — a load balancer stops routing here while one fails.
 */
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.ts';
import { problemResponses, sendProblem } from './problem.ts';

/** A named dependency check; it rejects (or times out) when the dependency is unusable. */
export interface ReadyCheck {
  name: string;
  check: () => Promise<void>;
}

export interface HealthOptions {
  readyChecks?: ReadyCheck[];
  /** Time a check may take before it counts as failed. */
  checkTimeoutMs?: number;
}

type CheckStatus = 'ok' | 'failed';

const ReadyBody = Type.Object({
  status: Type.Literal('ok'),
  checks: Type.Record(Type.String(), Type.Literal('ok')),
});

function withTimeout(check: () => Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([Promise.resolve().then(check), timeout]).finally(() => clearTimeout(timer));
}

/**
 * Runs every check in parallel; resolves to each check's status and the errors of failures.
 *
 * @example
 * const { checks, failures } = await runChecks([{ name: 'database', check: () => pool.query('select 1').then(() => {}) }], 2000);
 */
export async function runChecks(
  readyChecks: readonly ReadyCheck[],
  timeoutMs: number,
): Promise<{ checks: Record<string, CheckStatus>; failures: Array<{ name: string; error: unknown }> }> {
  const results = await Promise.allSettled(readyChecks.map((c) => withTimeout(c.check, timeoutMs)));
  const checks: Record<string, CheckStatus> = {};
  const failures: Array<{ name: string; error: unknown }> = [];
  results.forEach((result, i) => {
    const { name } = readyChecks[i];
    checks[name] = result.status === 'fulfilled' ? 'ok' : 'failed';
    if (result.status === 'rejected') failures.push({ name, error: result.reason });
  });
  return { checks, failures };
}

/** Registers `GET /healthz` and `GET /readyz`. */
export function registerHealthRoutes(app: FastifyInstance, options: HealthOptions = {}): void {
  const readyChecks = options.readyChecks ?? [];
  const timeoutMs = options.checkTimeoutMs ?? 2000;

  app.get(
    '/healthz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Liveness: the process is up',
        security: [],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Readiness: every dependency (database, broker) is reachable',
        security: [],
        response: { 200: ReadyBody, ...problemResponses(503) },
      },
    },
    async (request, reply) => {
      const { checks, failures } = await runChecks(readyChecks, timeoutMs);
      if (failures.length === 0) return { status: 'ok' as const, checks };
      for (const { name, error } of failures) request.log.warn({ err: error, check: name }, 'readiness check failed');
      const names = failures.map((f) => f.name);
      const error = new ApiError('SERVICE_UNAVAILABLE', `Not ready: ${names.join(', ')} unreachable.`, {
        extra: { failedChecks: names, checks },
        headers: { 'retry-after': '5' },
      });
      return sendProblem(request, reply, error);
    },
  );
}
