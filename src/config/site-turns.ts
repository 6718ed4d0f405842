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
   * function that ends this one's turn (call it once, however the write ends).
   *
   * @example
   * const done = await turns.take(siteId);
   * try { await write(); } finally { done(); }
   */
  async take(siteId: string): Promise<() => void> {
    const before = this.last.get(siteId);
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    this.last.set(siteId, mine);
    if (before) await before;
    return () => {
      if (this.last.get(siteId) === mine) this.last.delete(siteId);
      done();
    };
  }

  /** Sites with a write in progress or waiting (for tests and metrics). */
  get size(): number {
    return this.last.size;
  }
}
