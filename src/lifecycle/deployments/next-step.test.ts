import { describe, expect, it } from 'vitest';
import { emptyCounts, nextStep, type ProgressInput, type TargetCounts } from './next-step.ts';

const counts = (c: Partial<TargetCounts>): TargetCounts => ({ ...emptyCounts(), ...c });
const input = (p: Partial<ProgressInput>): ProgressInput => ({
  currentBatch: 1,
  batches: 3,
  current: emptyCounts(),
  soFar: emptyCounts(),
  failureThreshold: 0.2,
  recordingAcks: false,
  ...p,
});

describe('nextStep', () => {
  it('starts the first batch of a new deployment', () => {
    expect(nextStep(input({ currentBatch: 0 }))).toEqual({ kind: 'start-batch', batch: 1 });
  });

  it('waits while a target of the batch is pending or unanswered, or an ack is not yet recorded as deployed', () => {
    expect(nextStep(input({ current: counts({ sent: 1, acked: 1 }) }))).toEqual({ kind: 'wait' });
    expect(nextStep(input({ current: counts({ pending: 1 }) }))).toEqual({ kind: 'wait' });
    expect(nextStep(input({ current: counts({ acked: 2 }), soFar: counts({ acked: 2 }), recordingAcks: true }))).toEqual({ kind: 'wait' });
  });

  it('starts the next batch while failures stay at or under the threshold', () => {
    const done = counts({ acked: 4, failed: 1 });
    expect(nextStep(input({ current: done, soFar: done }))).toEqual({ kind: 'start-batch', batch: 2 });
  });

  it('aborts the remaining batches once failed and silent targets so far exceed the threshold', () => {
    const done = counts({ acked: 2, failed: 1, timed_out: 1 });
    const step = nextStep(input({ currentBatch: 2, current: counts({ acked: 1, timed_out: 1 }), soFar: done }));
    expect(step).toEqual({ kind: 'abort', reason: '2 of 4 targets failed or timed out (50 %), above the threshold of 20 %' });
  });

  it('ignores superseded (cancelled) targets when weighing failures', () => {
    const done = counts({ acked: 4, cancelled: 6 });
    expect(nextStep(input({ current: done, soFar: done, failureThreshold: 0 }))).toEqual({ kind: 'start-batch', batch: 2 });
  });

  it('ends after the last batch: succeeded when every settled target acked, failed otherwise', () => {
    expect(nextStep(input({ currentBatch: 3, soFar: counts({ acked: 9 }) }))).toEqual({ kind: 'finish', status: 'succeeded', reason: null });
    expect(nextStep(input({ currentBatch: 3, soFar: counts({ acked: 8, failed: 1 }), failureThreshold: 1 }))).toMatchObject({ kind: 'finish', status: 'failed' });
    expect(nextStep(input({ currentBatch: 3, soFar: counts({ cancelled: 9 }) }))).toMatchObject({ kind: 'finish', status: 'cancelled' });
  });
});
