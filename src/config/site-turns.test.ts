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

  it('keeps the order for turns taken while earlier ones are still waiting', async () => {
    const turns = new SiteTurns();
    const order: number[] = [];
    const first = await turns.take('a');
    const waiting = [2, 3].map((n) => turns.take('a').then((done) => (order.push(n), done)));
    first();
    const endSecond = await waiting[0];
    const fourth = turns.take('a').then((done) => (order.push(4), done));
    endSecond();
    const endThird = await waiting[1];
    await tick();
    expect(order).toEqual([2, 3]); // the fourth waits for the third, not only for the first
    endThird();
    (await fourth)();
    expect(order).toEqual([2, 3, 4]);
    expect(turns.size).toBe(0);
  });

  it('stops waiting after the longest wait and goes ahead; the turn after still waits for it', async () => {
    const turns = new SiteTurns();
    const stuck = await turns.take('a');
    const started = Date.now();
    const beside = await turns.take('a', 50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    let after = false;
    const next = turns.take('a', 60_000).then((done) => ((after = true), done));
    await tick();
    expect(after).toBe(false);
    beside();
    (await next)();
    expect(after).toBe(true);
    stuck();
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
