/** A site: its asset tree, its wiring, drift and change history, and the actions on it. */
import { useMemo, useState } from 'react';
import { api, call } from '../api/client.ts';
import type { Violation } from '../api/types.ts';
import { useMe } from '../auth/me.tsx';
import { indexSite } from '../lib/site-index.ts';
import { useCatalog } from '../lib/models.ts';
import { Link, navigate, setQuery, useLocation } from '../lib/router.tsx';
import { forgetSiteSummary } from '../lib/site-summary.ts';
import { useApi } from '../lib/use-api.ts';
import { AssetTree } from '../site/asset-tree.tsx';
import { ChangesetHistory } from '../site/changeset-history.tsx';
import { DriftTable } from '../site/drift-table.tsx';
import { WiringView } from '../site/wiring-view.tsx';
import { Denied, ErrorState, Loading } from '../ui/states.tsx';
import { Tabs } from '../ui/tabs.tsx';
import { AssetNames, ViolationList } from '../ui/violations.tsx';
import { toApiError, type ApiError } from '../api/client.ts';

const TABS = ['assets', 'wiring', 'drift', 'changes'] as const;

export function SitePage({ siteId }: { siteId: string }) {
  const me = useMe();
  const { query } = useLocation();
  const tab = (TABS as readonly string[]).includes(query.get('tab') ?? '') ? (query.get('tab') as (typeof TABS)[number]) : 'assets';
  const graph = useApi(() => call(api.GET('/v1/sites/{id}/graph', { params: { path: { id: siteId } } })), [siteId]);
  const catalog = useCatalog();
  const ix = useMemo(() => (graph.data ? indexSite(graph.data) : null), [graph.data]);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [validation, setValidation] = useState<{ valid: boolean; violations: Violation[] } | ApiError | 'running' | null>(null);

  if (graph.error) return <ErrorState error={graph.error} onRetry={graph.reload} title="Could not load the site" />;
  if (!graph.data || !ix) return <Loading label="Loading the site…" />;
  const site = graph.data.site;
  const deployDenied = me.whyNot('deploy', site.id);
  const names = (id: string) => ix.byId.get(id)?.name;

  async function validate() {
    setValidation('running');
    try {
      setValidation(await call(api.POST('/v1/sites/{id}/validate', { params: { path: { id: site.id } } })));
      forgetSiteSummary(site.id);
    } catch (e) {
      setValidation(toApiError(e));
    }
  }
  const deploy = (assetIds?: string[]) => navigate(`/deployments?new=1&siteId=${site.id}${assetIds ? `&assets=${assetIds.join(',')}` : ''}`);

  return (
    <AssetNames.Provider value={names}>
      <section>
        <p className="crumbs">
          <Link to="/">Fleet</Link> / site {site.code}
        </p>
        <h1>
          {site.code} — {site.name}
        </h1>
        <p className="muted">
          {graph.data.assets.length} assets · {graph.data.connections.length} cables · subnet {site.network.subnet}, router {site.network.router}
          {site.network.vlan ? `, VLAN ${site.network.vlan}` : ''} · {site.timezone} · revision {site.revision}
        </p>
        <div className="actions">
          <button type="button" onClick={validate} disabled={validation === 'running'}>
            {validation === 'running' ? 'Validating…' : 'Validate site'}
          </button>
          <button type="button" onClick={() => deploy()} disabled={!!deployDenied}>
            Deploy site
          </button>
          <button type="button" onClick={() => deploy([...selected])} disabled={!!deployDenied || selected.size === 0}>
            Deploy {selected.size} selected
          </button>
          <Denied reason={deployDenied} />
          <button type="button" onClick={graph.reload} disabled={graph.loading}>
            {graph.loading ? 'Reloading…' : 'Reload'}
          </button>
        </div>
        {validation && validation !== 'running' && ('problem' in validation ? <ErrorState error={validation} title="Validation failed to run" /> : validation.violations.length === 0 ? <p className="state state-ok" role="status">Every rule passes on this site.</p> : <div className="panel" role="status"><h2>Validation: {validation.valid ? 'valid, with warnings' : 'violations found'}</h2><ViolationList violations={validation.violations} /></div>)}
        <Tabs label="Site views" tabs={TABS.map((t) => ({ id: t, label: { assets: 'Asset tree', wiring: 'Wiring', drift: 'Drift', changes: 'Change history' }[t] }))} current={tab} onSelect={(t) => setQuery({ tab: t === 'assets' ? null : t })} />
        <div role="tabpanel" aria-label={tab}>
          {tab === 'assets' && <AssetTree ix={ix} selected={selected} onSelect={setSelected} />}
          {tab === 'wiring' && (catalog.data ? <WiringView ix={ix} catalog={catalog.data} /> : catalog.error ? <ErrorState error={catalog.error} onRetry={catalog.reload} /> : <Loading label="Loading the model catalog…" />)}
          {tab === 'drift' && <DriftTable siteId={site.id} />}
          {tab === 'changes' && <ChangesetHistory siteId={site.id} />}
        </div>
      </section>
    </AssetNames.Provider>
  );
}
