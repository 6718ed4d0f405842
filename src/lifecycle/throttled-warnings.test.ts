import { describe, expect, it } from 'vitest';
import { throttledWarnings } from './throttled-warnings.ts';

describe('throttledWarnings', () => {
  it('passes each kind of warning on once per interval and counts what it held back', () => {
    const seen: Array<{ obj: object; msg: string }> = [];
    let clock = 0;
    const log = throttledWarnings({ warn: (obj, msg) => void seen.push({ obj, msg }) }, 1000, () => clock);
    log.warn({ n: 1 }, 'malformed ack ignored');
    log.warn({ n: 2 }, 'malformed ack ignored');
    log.warn({ n: 3 }, 'malformed ack ignored');
    log.warn({ n: 1 }, 'acks not stored'); // another kind: its own allowance
    clock = 999;
    log.warn({ n: 4 }, 'malformed ack ignored');
    clock = 1000;
    log.warn({ n: 5 }, 'malformed ack ignored');
    clock = 5000;
    log.warn({ n: 6 }, 'malformed ack ignored');
    expect(seen).toEqual([
      { obj: { n: 1 }, msg: 'malformed ack ignored' },
      { obj: { n: 1 }, msg: 'acks not stored' },
      { obj: { n: 5, suppressed: 3 }, msg: 'malformed ack ignored' },
      { obj: { n: 6 }, msg: 'malformed ack ignored' },
    ]);
  });
});
