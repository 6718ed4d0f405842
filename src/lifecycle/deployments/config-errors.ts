import { ApiError } from '../../http/errors.ts';
import { ConfigServiceError } from '../config-client.ts';

/**
 * Calls the configuration service on behalf of a request. Its failures are not the client's
 * fault and not a bug here: they answer 503 with Retry-After (the caller retries), never 500.
 *
 * @example
 *   const graph = await askConfig(() => deps.config.getSiteGraph(siteId));
 */
export async function askConfig<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    const detail = err instanceof ConfigServiceError ? `it answered ${err.status}` : 'it is unreachable';
    throw new ApiError('SERVICE_UNAVAILABLE', `The configuration service could not be asked (${detail}); retry shortly.`, {
      headers: { 'retry-after': '5' },
      cause: err,
    });
  }
}
