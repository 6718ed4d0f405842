/** Before and after, side by side, changed lines marked. */
import { useMemo, type ReactElement } from 'react';
import { diffLines } from '../lib/text-diff.ts';

export function DiffView({ before, after, leftLabel = 'Before', rightLabel = 'After', contextLines = 3 }: { before: unknown; after: unknown; leftLabel?: string; rightLabel?: string; contextLines?: number }) {
  const rows = useMemo(() => diffLines(before, after), [before, after]);
  // Show changed lines with a little context; fold long unchanged runs.
  const keep = useMemo(() => {
    const k = new Uint8Array(rows.length);
    rows.forEach((r, i) => {
      if (r.kind !== 'same') for (let x = Math.max(0, i - contextLines); x <= Math.min(rows.length - 1, i + contextLines); x++) k[x] = 1;
    });
    return k;
  }, [rows, contextLines]);
  const changed = rows.some((r) => r.kind !== 'same');
  if (!changed) return <p className="muted">No differences.</p>;
  const out: ReactElement[] = [];
  let folded = 0;
  rows.forEach((r, i) => {
    if (!keep[i]) {
      folded++;
      return;
    }
    if (folded) {
      out.push(
        <tr key={`f${i}`} className="fold">
          <td colSpan={2}>… {folded} unchanged lines …</td>
        </tr>,
      );
      folded = 0;
    }
    out.push(
      <tr key={i} className={`diff-${r.kind}`}>
        <td className={r.kind === 'removed' || r.kind === 'changed' ? 'del' : ''}>
          <pre>{r.left ?? ''}</pre>
        </td>
        <td className={r.kind === 'added' || r.kind === 'changed' ? 'ins' : ''}>
          <pre>{r.right ?? ''}</pre>
        </td>
      </tr>,
    );
  });
  if (folded) {
    out.push(
      <tr key="fend" className="fold">
        <td colSpan={2}>… {folded} unchanged lines …</td>
      </tr>,
    );
  }
  return (
    <table className="diff" aria-label={`${leftLabel} and ${rightLabel}`}>
      <thead>
        <tr>
          <th scope="col">{leftLabel}</th>
          <th scope="col">{rightLabel}</th>
        </tr>
      </thead>
      <tbody>{out}</tbody>
    </table>
  );
}
