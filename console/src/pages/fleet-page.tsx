/** Fleet overview: every site the user can see with its figures, and a search over sites and assets. */
import { useEffect, useMemo, useState } from 'react';
import { api, call } from '../api/client.ts';
import type { Asset, Site } from '../api/types.ts';
import { useMe } from '../auth/me.tsx';
import { Link, setQuery, useLocation } from '../lib/router.tsx';
import { siteSummary, type SiteSummary } from '../lib/site-summary.ts';
import { useApi, useDebounced } from '../lib/use-api.ts';
import { Empty, ErrorState, Loading } from '../ui/states.tsx';
import { VirtualList } from '../ui/virtual-list.tsx';

export function FleetPage() {
  const { sites } = useMe();
  const { query } = useLocation();
  const [q, setQ] = useState(query.get('q') ?? '');
  const search = useDebounced(q.trim(), 250);
  useEffect(() => setQuery({ q: search || null }), [search]);
  const running = useApi(() => call(api.GET('/v1/deployments', { params: { query: { status: 'running', limit: 500 } } })), [], { pollMs: 5000 });
  const runningBySite = useMemo(() => {
    const m = new Map<string, number>();
    for (const d of running.data?.items ?? []) m.set(d.siteId, (m.get(d.siteId) ?? 0) + 1);
    return m;
  }, [running.data]);
  const list = useMemo(() => [...sites.values()].sort((a, b) => a.code.localeCompare(b.code)), [sites]);

  return (
    <section>
      <h1>Fleet</h1>
      <div className="searchbar">
        <label>
          Search sites and assets
          <input type="search" placeholder="name, code, serial, IP address…" value={q} onChange={(e) => setQ(e.target.value)} />
        </label>
      </div>
      {search ? <SearchResults q={search} sites={sites} /> : null}
      <h2>
        Sites <span className="muted small">({list.length})</span>
      </h2>
      {running.error && <ErrorState error={running.error} onRetry={running.reload} title="Running deployments unavailable" />}
      {list.length === 0 ? (
        <Empty>No sites you can see. An administrator can give you a role on a site, or create sites through the API.</Empty>
      ) : (
        <VirtualList
          label="Sites"
          count={list.length}
          rowHeight={44}
          header={
            <div role="row" className="vrow vhead site-grid">
              <span role="columnheader">Site</span>
              <span role="columnheader">Name</span>
              <span role="columnheader">Assets</span>
              <span role="columnheader">Validation</span>
              <span role="columnheader">Drift</span>
              <span role="columnheader">Deployments</span>
            </div>
          }
          render={(i) => <SiteRow site={list[i]} running={runningBySite.get(list[i].id) ?? 0} />}
        />
      )}
    </section>
  );
}

function SiteRow({ site, running }: { site: Site; running: number }) {
  const [s, setS] = useState<SiteSummary | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    siteSummary(site.id).then(
      (x) => live && setS(x),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [site.id]);
  const pending = !s && !failed;
  return (
    <div className="site-grid">
      <span role="cell">
        <Link to={`/sites/${site.id}`}>{site.code}</Link>
      </span>
      <span role="cell">{site.name}</span>
      <span role="cell">{pending ? <span className="muted">…</span> : s ? s.assets : '—'}</span>
      <span role="cell">{pending ? <span className="muted">checking…</span> : !s || s.valid === null ? <span className="muted">unavailable</span> : s.valid ? <span className="badge ok">valid{s.warnings ? `, ${s.warnings} warnings` : ''}</span> : <span className="badge bad">{s.errors} violations</span>}</span>
      <span role="cell">{pending ? <span className="muted">…</span> : !s ? '—' : s.drifted + s.notReported === 0 ? <span className="badge ok">in sync</span> : <span className="badge warn">{s.drifted} drifted, {s.notReported} not reported</span>}</span>
      <span role="cell">{running ? <span className="badge info">{running} running</span> : <span className="muted">none running</span>}</span>
    </div>
  );
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){1,3}$/;

function SearchResults({ q, sites }: { q: string; sites: Map<string, Site> }) {
  const res = useApi(async () => {
    const [s, a] = await Promise.all([
      call(api.GET('/v1/sites', { params: { query: { q, limit: 20 } } })),
      call(api.GET('/v1/assets', { params: { query: { q, limit: 50 } } })),
    ]);
    return { sites: s.items.filter((x) => sites.has(x.id)), assets: a.items.filter((x) => sites.has(x.siteId)) };
  }, [q]);
  const isAddress = IPV4.test(q);
  if (res.error) return <ErrorState error={res.error} onRetry={res.reload} title="Search failed" />;
  if (!res.data) return <Loading label={`Searching for “${q}”…`} />;
  const { sites: found, assets } = res.data;
  return (
    <div className="panel" aria-live="polite">
      <h2>Results for “{q}”</h2>
      {found.length === 0 && assets.length === 0 && (
        <Empty>
          Nothing matches “{q}” by name, code or serial.
          {isAddress && ' Fleet-wide search by IP address is not offered by the API yet: open a site and filter its assets by address.'}
        </Empty>
      )}
      {found.length > 0 && (
        <ul className="results">
          {found.map((s) => (
            <li key={s.id}>
              <span className="badge">site</span> <Link to={`/sites/${s.id}`}>{s.code}</Link> {s.name}
            </li>
          ))}
        </ul>
      )}
      {assets.length > 0 && (
        <ul className="results">
          {assets.map((a: Asset) => (
            <li key={a.id}>
              <span className="badge">{a.kind}</span> <Link to={`/assets/${a.id}`}>{a.name}</Link> <span className="muted">serial {a.serial ?? '—'} · site {sites.get(a.siteId)?.code}</span>
            </li>
          ))}
          {assets.length === 50 && <li className="muted">First 50 assets shown; refine the search.</li>}
        </ul>
      )}
    </div>
  );
}
