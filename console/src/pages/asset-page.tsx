/** An asset: where it sits, its desired/deployed/reported versions, configuration, history. */
import { useMemo } from 'react';
import { api, call } from '../api/client.ts';
import type { Asset } from '../api/types.ts';
import { ConfigEditor } from '../asset/config-editor.tsx';
import { AuditTimeline } from '../asset/audit-timeline.tsx';
import { DeviceSlot } from '../asset/device-slot.tsx';
import { VersionsPanel } from '../asset/versions-panel.tsx';
import { useMe } from '../auth/me.tsx';
import { loadModel } from '../lib/models.ts';
import { Link, setQuery, useLocation } from '../lib/router.tsx';
import { addressOf } from '../lib/site-index.ts';
import { useApi } from '../lib/use-api.ts';
import { ErrorState, Loading } from '../ui/states.tsx';
import { Tabs } from '../ui/tabs.tsx';
import { AssetNames } from '../ui/violations.tsx';

const TABS = ['config', 'versions', 'audit', 'device'] as const;
type Tab = (typeof TABS)[number];

export function AssetPage({ assetId }: { assetId: string }) {
  const me = useMe();
  const { query } = useLocation();
  const tab: Tab = (TABS as readonly string[]).includes(query.get('tab') ?? '') ? (query.get('tab') as Tab) : 'config';
  const asset = useApi(() => call(api.GET('/v1/assets/{id}', { params: { path: { id: assetId } } })), [assetId]);
  const siteId = asset.data?.siteId;
  const graph = useApi(() => call(api.GET('/v1/sites/{id}/graph', { params: { path: { id: siteId! } } })), [siteId], { enabled: !!siteId });
  const model = useApi(() => loadModel(asset.data!.modelId), [asset.data?.modelId], { enabled: !!asset.data });
  const state = useApi(() => call(api.GET('/v1/assets/{id}/deployment-state', { params: { path: { id: assetId } } })), [assetId, asset.data?.version], { pollMs: 5000 });
  const byId = useMemo(() => new Map((graph.data?.assets ?? []).map((a) => [a.id, a])), [graph.data]);
  const uuidChoices = useMemo(() => (graph.data?.assets ?? []).filter((a) => a.id !== assetId).map((a) => ({ id: a.id, label: `${a.name} (${a.kind}${a.port ? ` on ${a.port}` : ''}${a.parentId === assetId ? ', wired here' : ''})` })), [graph.data, assetId]);

  if (asset.error) return <ErrorState error={asset.error} onRetry={asset.reload} title="Could not load the asset" />;
  if (!asset.data) return <Loading label="Loading the asset…" />;
  const a = asset.data;
  const site = me.sites.get(a.siteId);
  const parent = a.parentId ? byId.get(a.parentId) : undefined;
  const reload = async (): Promise<Asset> => {
    const fresh = await call(api.GET('/v1/assets/{id}', { params: { path: { id: assetId } } }));
    asset.setData(fresh);
    return fresh;
  };
  const s = state.data;

  return (
    <AssetNames.Provider value={(id) => byId.get(id)?.name}>
      <section>
        <p className="crumbs">
          <Link to="/">Fleet</Link> / <Link to={`/sites/${a.siteId}`}>site {site?.code ?? a.siteId.slice(0, 8)}</Link> / {a.name}
        </p>
        <h1>
          {a.name} <span className={`badge kind-${a.kind}`}>{a.kind}</span>
        </h1>
        <dl className="facts">
          <dt>Model</dt>
          <dd>{a.modelId}</dd>
          <dt>Serial</dt>
          <dd>{a.serial ?? '—'}</dd>
          <dt>Firmware</dt>
          <dd>{a.firmware ?? '—'}</dd>
          <dt>Attached to</dt>
          <dd>{parent ? <><Link to={`/assets/${parent.id}`}>{parent.name}</Link> {a.port ? `port ${a.port}` : 'over IP'}</> : a.parentId ? '…' : 'the site'}</dd>
          <dt>Address</dt>
          <dd>{addressOf(a) || '—'}</dd>
          <dt>Status</dt>
          <dd>{a.status}</dd>
          <dt>Desired</dt>
          <dd>v{a.configVersion}</dd>
          <dt>Deployed</dt>
          <dd>{s?.deployed ? `v${s.deployed.version}` : a.deployedVersion ? `v${a.deployedVersion}` : 'never deployed'}</dd>
          <dt>Reported</dt>
          <dd>
            {state.error ? <span className="muted">unavailable</span> : !s ? '…' : s.reported ? `v${s.reported.version} at ${new Date(s.reported.reportedAt).toLocaleString()}` : 'nothing reported'}{' '}
            {s && (s.drift ? <span className="badge warn">drift{s.driftReason === 'not_reported' ? ': not reported' : ': runs another configuration'}</span> : <span className="badge ok">in sync</span>)}
          </dd>
          {s?.lastDeployment && (
            <>
              <dt>Last deployment</dt>
              <dd>
                <Link to={`/deployments/${s.lastDeployment.id}`}>{s.lastDeployment.id.slice(0, 8)}</Link> {s.lastDeployment.status}
              </dd>
            </>
          )}
        </dl>
        <Tabs label="Asset views" tabs={[{ id: 'config', label: 'Configuration' }, { id: 'versions', label: 'Versions' }, { id: 'audit', label: 'Audit timeline' }, { id: 'device', label: 'Device' }]} current={tab} onSelect={(t) => setQuery({ tab: t === 'config' ? null : t })} />
        <div role="tabpanel" aria-label={tab}>
          {tab === 'config' && (model.error ? <ErrorState error={model.error} onRetry={model.reload} title="Could not load the model's schema" /> : !model.data || !graph.data ? <Loading label="Loading the model's schema…" /> : <ConfigEditor key={a.id} asset={a} model={model.data} uuidChoices={uuidChoices} reload={reload} />)}
          {tab === 'versions' && <VersionsPanel asset={a} />}
          {tab === 'audit' && <AuditTimeline assetId={a.id} />}
          {tab === 'device' && <DeviceSlot asset={a} />}
        </div>
      </section>
    </AssetNames.Provider>
  );
}
