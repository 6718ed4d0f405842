import { describe, expect, it } from 'vitest';
import { SiteTurns } from './site-turns.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('SiteTurns', () => {
  it('gives one site its turns in the order they were taken, and other sites theirs at once', async () => {
    const turns = new SiteTurns();
    const order: string[] = [];
    const first = await turns.take('a');
    const second = turns.take('a').then((done) => (order.push('a2'), done));
    const third = turns.take('a').then((done) => (order.push('a3'), done));
    const other = await turns.take('b');
    order.push('b1');
    await tick();
    expect(order).toEqual(['b1']); // a2 and a3 wait for a1
    first();
    const endSecond = await second;
    await tick();
    expect(order).toEqual(['b1', 'a2']);
    endSecond();
    (await third)();
    other();
    expect(order).toEqual(['b1', 'a2', 'a3']);
    expect(turns.size).toBe(0);
  });

  it('hands the turn on however the write before ended, and forgets a site once its last turn ends', async () => {
    const turns = new SiteTurns();
    const failing = async () => {
      const done = await turns.take('a');
      try {
        throw new Error('refused');
      } finally {
        done();
      }
    };
    await expect(failing()).rejects.toThrow('refused');
    const done = await turns.take('a');
    expect(turns.size).toBe(1);
    done();
    expect(turns.size).toBe(0);
  });
});
