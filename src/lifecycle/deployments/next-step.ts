/** Per-status target counts of a deployment (or of one of its batches). */
export interface TargetCounts {
  pending: number;
  sent: number;
  acked: number;
  failed: number;
  timed_out: number;
  cancelled: number;
}

export const TARGET_STATUSES = ['pending', 'sent', 'acked', 'failed', 'timed_out', 'cancelled'] as const;
export type TargetStatus = (typeof TARGET_STATUSES)[number];

export const emptyCounts = (): TargetCounts => ({ pending: 0, sent: 0, acked: 0, failed: 0, timed_out: 0, cancelled: 0 });

export interface ProgressInput {
  /** 0 before the first batch started. */
  currentBatch: number;
  batches: number;
  /** Targets of the current batch. */
  current: TargetCounts;
  /** Targets of every batch up to and including the current one. */
  soFar: TargetCounts;
  failureThreshold: number;
  /** Acknowledged versions of this deployment not yet recorded by the configuration service. */
  recordingAcks: boolean;
}

export type NextStep =
  | { kind: 'wait' }
  | { kind: 'start-batch'; batch: number }
  | { kind: 'abort'; reason: string }
  | { kind: 'finish'; status: 'succeeded' | 'failed' | 'cancelled'; reason: string | null };

/**
 * What a running deployment does next. A batch is over when none of its targets is pending
 * or awaiting an answer and every acknowledged version has been recorded as deployed. Then,
 * if more batches remain, the share of failed and silent targets among the settled ones so
 * far decides: above `failureThreshold` the rest is aborted, otherwise the next batch starts.
 * Targets superseded by a newer deployment or withdrawn with their asset (cancelled) count neither way.
 *
 * @example
 *   nextStep({ currentBatch: 1, batches: 3, current, soFar, failureThreshold: 0.2, recordingAcks: false });
 *   // { kind: 'abort', reason: '2 of 4 targets failed or timed out (50 %), above the threshold of 20 %' }
 */
export function nextStep(p: ProgressInput): NextStep {
  if (p.currentBatch === 0) return p.batches > 0 ? { kind: 'start-batch', batch: 1 } : { kind: 'finish', status: 'succeeded', reason: null };
  if (p.current.pending + p.current.sent > 0 || p.recordingAcks) return { kind: 'wait' };

  const failures = p.soFar.failed + p.soFar.timed_out;
  const settled = p.soFar.acked + failures;
  const share = settled === 0 ? 0 : failures / settled;
  const describe = `${failures} of ${settled} target${settled === 1 ? '' : 's'} failed or timed out (${percent(share)})`;
  if (p.currentBatch < p.batches) {
    if (share > p.failureThreshold) return { kind: 'abort', reason: `${describe}, above the threshold of ${percent(p.failureThreshold)}` };
    return { kind: 'start-batch', batch: p.currentBatch + 1 };
  }
  if (settled === 0) return { kind: 'finish', status: 'cancelled', reason: 'every target was superseded by a newer deployment or withdrawn with its asset' };
  return failures === 0 ? { kind: 'finish', status: 'succeeded', reason: null } : { kind: 'finish', status: 'failed', reason: describe };
}

const percent = (x: number) => `${Math.round(x * 1000) / 10} %`;
