/** The site's assets as a tree (gateway → controllers and meters → sensors), virtualized. */
import { useMemo, useState } from 'react';
import { addressOf, matching, treeRows, type SiteIndex } from '../lib/site-index.ts';
import { Link } from '../lib/router.tsx';
import { useDebounced } from '../lib/use-api.ts';
import { Empty } from '../ui/states.tsx';
import { VirtualList } from '../ui/virtual-list.tsx';

export function AssetTree({ ix, selected, onSelect }: { ix: SiteIndex; selected: ReadonlySet<string>; onSelect: (s: ReadonlySet<string>) => void }) {
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [q, setQ] = useState('');
  const filter = useDebounced(q.trim(), 150);
  const keep = useMemo(() => (filter ? matching(ix, filter) : undefined), [ix, filter]);
  const rows = useMemo(() => treeRows(ix, collapsed, keep), [ix, collapsed, keep]);
  const toggle = (id: string) => {
    const next = new Set(collapsed);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setCollapsed(next);
  };
  const pick = (id: string, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    onSelect(next);
  };
  const parents = useMemo(() => [...ix.children.keys()].filter((k): k is string => k !== null), [ix]);

  return (
    <div>
      <div className="toolbar">
        <label>
          Filter assets
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="name, serial, model, IP, unit id" />
        </label>
        <button type="button" onClick={() => setCollapsed(new Set())}>
          Expand all
        </button>
        <button type="button" onClick={() => setCollapsed(new Set(parents))}>
          Collapse all
        </button>
        <span className="muted small" aria-live="polite">
          {rows.length} of {ix.byId.size} assets shown{selected.size ? ` · ${selected.size} selected` : ''}
        </span>
        {selected.size > 0 && (
          <button type="button" className="link" onClick={() => onSelect(new Set())}>
            Clear selection
          </button>
        )}
      </div>
      {rows.length === 0 ? (
        <Empty>{ix.byId.size === 0 ? 'This site has no assets yet.' : `No asset matches “${filter}”.`}</Empty>
      ) : (
        <VirtualList
          label="Assets"
          count={rows.length}
          rowHeight={36}
          header={
            <div role="row" className="vrow vhead tree-grid">
              <span role="columnheader">Asset</span>
              <span role="columnheader">Kind</span>
              <span role="columnheader">Model</span>
              <span role="columnheader">Port</span>
              <span role="columnheader">Address</span>
              <span role="columnheader">Serial</span>
              <span role="columnheader">Status</span>
              <span role="columnheader">Config (desired / deployed)</span>
            </div>
          }
          render={(i) => {
            const { asset: a, depth, childCount } = rows[i];
            const open = !collapsed.has(a.id) || !!keep;
            return (
              <div className="tree-grid" data-asset={a.name}>
                <span role="cell" className="tree-name" style={{ paddingLeft: depth * 20 }}>
                  <input type="checkbox" aria-label={`Select ${a.name}`} checked={selected.has(a.id)} onChange={(e) => pick(a.id, e.target.checked)} />
                  {childCount > 0 ? (
                    <button type="button" className="twisty" aria-expanded={open} aria-label={`${open ? 'Collapse' : 'Expand'} ${a.name} (${childCount})`} onClick={() => toggle(a.id)} disabled={!!keep}>
                      {open ? '▾' : '▸'}
                    </button>
                  ) : (
                    <span className="twisty" aria-hidden="true" />
                  )}
                  <Link to={`/assets/${a.id}`}>{a.name}</Link>
                  {childCount > 0 && <span className="muted small"> ({childCount})</span>}
                </span>
                <span role="cell">
                  <span className={`badge kind-${a.kind}`}>{a.kind}</span>
                </span>
                <span role="cell" className="small">{a.modelId}</span>
                <span role="cell" className="small">{a.port ?? (a.parentId ? 'IP' : '—')}</span>
                <span role="cell" className="small">{addressOf(a) || '—'}</span>
                <span role="cell" className="small">{a.serial ?? '—'}</span>
                <span role="cell" className="small">{a.status}</span>
                <span role="cell" className="small">
                  v{a.configVersion} / {a.deployedVersion ? `v${a.deployedVersion}` : 'never'}
                  {a.deployedVersion !== a.configVersion && <span className="badge warn">not deployed</span>}
                </span>
              </div>
            );
          }}
        />
      )}
    </div>
  );
}
