/**
 * A scrolling list that renders only the rows in view (@tanstack/react-virtual), so a site of
 * 1,000 assets costs the same to show as one of 30. Rows have a fixed height.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useRef, type ReactNode } from 'react';

export function VirtualList({ count, rowHeight, render, label, maxHeight = '70vh', header }: { count: number; rowHeight: number; render: (index: number) => ReactNode; label: string; maxHeight?: string; header?: ReactNode }) {
  const parent = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({ count, getScrollElement: () => parent.current, estimateSize: () => rowHeight, overscan: 12 });
  return (
    <div role="table" aria-label={label} aria-rowcount={count} className="vtable">
      {header}
      <div ref={parent} className="vlist" style={{ maxHeight }} tabIndex={0} role="rowgroup" aria-label={`${label}: scroll to see more`}>
        <div style={{ height: v.getTotalSize(), position: 'relative' }}>
          {v.getVirtualItems().map((item) => (
            <div key={item.key} role="row" aria-rowindex={item.index + 1} className="vrow" style={{ position: 'absolute', top: 0, left: 0, right: 0, height: rowHeight, transform: `translateY(${item.start}px)` }}>
              {render(item.index)}
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}
