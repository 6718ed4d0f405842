/** Loading, empty, error and progress states, the same on every screen. */
import type { ReactNode } from 'react';
import type { ApiError } from '../api/client.ts';
import { problemText } from '../api/problem-text.ts';
import { ViolationList } from './violations.tsx';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state state-empty">{children}</div>;
}

/** An API error in words: what happened, what to do, the server's detail and fields. */
export function ErrorState({ error, onRetry, title }: { error: ApiError; onRetry?: () => void; title?: string }) {
  const t = problemText(error);
  const violations = (error.problem as { violations?: Parameters<typeof ViolationList>[0]['violations'] }).violations;
  return (
    <div className="state state-error" role="alert">
      {title && <strong>{title}: </strong>}
      <strong>{t.headline}</strong> {t.todo}
      {t.detail && <p className="muted">{t.detail}</p>}
      {t.fields.length > 0 && (
        <ul>
          {t.fields.map((f, i) => (
            <li key={i}>
              <code>{f.path || '(body)'}</code>: {f.message}
            </li>
          ))}
        </ul>
      )}
      {violations && violations.length > 0 && <ViolationList violations={violations} />}
      {t.requestId && <p className="muted small">Request id {t.requestId}</p>}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Progress({ value, max, label }: { value: number; max: number; label: string }) {
  const pct = max > 0 ? Math.round((value / max) * 100) : 0;
  return (
    <div className="progress">
      <progress value={value} max={Math.max(max, 1)} aria-label={label} />
      <span>
        {label}: {value} / {max} ({pct} %)
      </span>
    </div>
  );
}

/** A control the user lacks the role for: disabled, with the reason beside it. */
export function Denied({ reason }: { reason: string | null }) {
  if (!reason) return null;
  return <span className="denied small">{reason}</span>;
}
