/**
 * `REMA_LOG`: what a server logs (JSON lines on stdout). Unset or empty: warnings and errors
 * only — a background part that drops an ack, a consumer that cannot apply an event, a 5xx —
 * so an operator sees them without turning on a line per request; `1`: request logs as well
 * (level info); `0`: nothing. Anything else stops the start-up with a message saying so.
 *
 * @example
 * loggerFromEnv(undefined) // { level: 'warn' }
 * loggerFromEnv('1')       // { level: 'info' }
 */
export function loggerFromEnv(value: string | undefined): false | { level: 'warn' | 'info' } {
  if (value === undefined || value.trim() === '') return { level: 'warn' };
  switch (value.trim()) {
    case '1':
      return { level: 'info' };
    case '0':
      return false;
    default:
      throw new Error(`REMA_LOG must be 1 (request logs too), 0 (nothing) or unset (warnings and errors); got "${value}"`);
  }
}
