/** How long a write waits for its turn at most before it goes ahead without it (see {@link SiteTurns.take}). */
export const MAX_TURN_WAIT_MS = 2_000;

/**
 * Writes of this instance to one site, one after another, in the order they came.
 *
 * A write to a site whose copy this instance holds is planned on that copy and sent as one
 * statement that keeps nothing unless the site is still at the copy's revision (see
 * `createWritePath`). Two such writes to one site at once would both be planned on the same copy:
 * the second's statement would wait for the first's row lock, then fail on the revision, and the
 * write would start again under the lock — three round trips instead of one, at the tail of the
 * latency. Taking turns, the second waits for the first to finish (as it would have waited for
 * its lock, but holding no connection) and is planned on the copy the first left.
 *
 * Only an optimisation: what keeps concurrent writes correct is still the site's row lock and the
 * revision check in the statement, which also cover other instances.
 */
export class SiteTurns {
  /** The turn each site's last queued write will hand on when it is done. */
  private readonly last = new Map<string, Promise<void>>();

  /**
   * Waits until the writes to `siteId` that took a turn before have finished, and returns the
   * function that ends this one's turn (call it once, however the write ends). After `maxWaitMs`
   * it stops waiting and the write goes ahead beside the one before — as it would without turns:
   * a write that hangs (no connection to be had, a lock held elsewhere) does not make every write
   * queued behind it wait as long again in turn. The writes after it still wait for it.
   *
   * @example
   * const done = await turns.take(siteId);
   * try { await write(); } finally { done(); }
   */
  async take(siteId: string, maxWaitMs = MAX_TURN_WAIT_MS): Promise<() => void> {
    const before = this.last.get(siteId);
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    this.last.set(siteId, mine);
    if (before) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([before, new Promise<void>((resolve) => (timer = setTimeout(resolve, maxWaitMs)))]);
      clearTimeout(timer);
    }
    return () => {
      if (this.last.get(siteId) === mine) this.last.delete(siteId);
      done();
    };
  }

  /** Sites with a write in progress or waiting. */
  get size(): number {
    return this.last.size;
  }
}
