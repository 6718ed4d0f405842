/** Tabs with arrow-key navigation (WAI-ARIA tabs pattern, manual activation). */
import type { KeyboardEvent } from 'react';

export function Tabs<T extends string>({ tabs, current, onSelect, label }: { tabs: Array<{ id: T; label: string }>; current: T; onSelect: (id: T) => void; label: string }) {
  const key = (e: KeyboardEvent<HTMLButtonElement>, i: number) => {
    const next = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : null;
    if (next === null) return;
    const t = tabs[(next + tabs.length) % tabs.length];
    onSelect(t.id);
    (e.currentTarget.parentElement?.querySelector(`[data-tab="${t.id}"]`) as HTMLElement | null)?.focus();
  };
  return (
    <div role="tablist" aria-label={label} className="tabs">
      {tabs.map((t, i) => (
        <button key={t.id} type="button" role="tab" data-tab={t.id} aria-selected={t.id === current} tabIndex={t.id === current ? 0 : -1} onClick={() => onSelect(t.id)} onKeyDown={(e) => key(e, i)}>
          {t.label}
        </button>
      ))}
    </div>
  );
}
