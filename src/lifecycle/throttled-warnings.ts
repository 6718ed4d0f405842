/** Where the lifecycle service's background parts (runner, MQTT bridge, ack relay, config events) warn. */
export interface WarnLog {
  warn(obj: object, msg: string): void;
}

/**
 * A warning log that passes each kind of warning (its message) on at most once per
 * `intervalMs`, and says on the next one passed how many it held back meanwhile
 * (`suppressed`). What devices send — malformed acks, acks for no target — and what an outage
 * repeats every round would otherwise be a line each; the first of a burst still carries its
 * details. The messages are a fixed set, so the memory is too.
 *
 * @example
 *   const log = throttledWarnings(app.log);
 *   log.warn({ topic }, 'malformed ack ignored'); // logged
 *   log.warn({ topic }, 'malformed ack ignored'); // held back; counted on the next one logged
 */
export function throttledWarnings(log: WarnLog, intervalMs = 60_000, now: () => number = Date.now): WarnLog {
  const last = new Map<string, { at: number; suppressed: number }>();
  return {
    warn(obj, msg) {
      const t = now();
      const seen = last.get(msg);
      if (seen && t - seen.at < intervalMs) {
        seen.suppressed++;
        return;
      }
      last.set(msg, { at: t, suppressed: 0 });
      log.warn(seen?.suppressed ? { ...obj, suppressed: seen.suppressed } : obj, msg);
    },
  };
}
