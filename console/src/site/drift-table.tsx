/** Desired vs deployed vs reported configuration of every asset of a site. */
import { useState } from 'react';
import { api, call } from '../api/client.ts';
import { Link } from '../lib/router.tsx';
import { useApi } from '../lib/use-api.ts';
import { Empty, ErrorState, Loading, Progress } from '../ui/states.tsx';
import { VirtualList } from '../ui/virtual-list.tsx';

const REASON: Record<string, string> = {
  not_reported: 'the device reports nothing',
  hash_differs: 'the device runs another configuration',
};

export function DriftTable({ siteId }: { siteId: string }) {
  const [driftOnly, setDriftOnly] = useState(true);
  const drift = useApi(() => call(api.GET('/v1/sites/{id}/drift', { params: { path: { id: siteId }, query: { driftOnly } } })), [siteId, driftOnly], { pollMs: 5000 });
  if (drift.error) return <ErrorState error={drift.error} onRetry={drift.reload} title="Drift unavailable" />;
  if (!drift.data) return <Loading label="Loading drift…" />;
  const { summary, assets } = drift.data;
  return (
    <div>
      <Progress value={summary.inSync} max={summary.assets} label="In sync" />
      <p>
        {summary.inSync} in sync · {summary.drifted} drifted · {summary.notReported} not reported (of {summary.assets} assets)
      </p>
      <label className="toolbar">
        <input type="checkbox" checked={driftOnly} onChange={(e) => setDriftOnly(e.target.checked)} /> Only assets that drifted or report nothing
      </label>
      {assets.length === 0 ? (
        <Empty>{driftOnly ? 'No drift: every device reports its desired configuration.' : 'No assets.'}</Empty>
      ) : (
        <VirtualList
          label="Drift per asset"
          count={assets.length}
          rowHeight={34}
          header={
            <div role="row" className="vrow vhead drift-grid">
              <span role="columnheader">Asset</span>
              <span role="columnheader">Kind</span>
              <span role="columnheader">Desired</span>
              <span role="columnheader">Deployed</span>
              <span role="columnheader">Reported</span>
              <span role="columnheader">State</span>
            </div>
          }
          render={(i) => {
            const a = assets[i];
            return (
              <div className="drift-grid">
                <span role="cell">
                  <Link to={`/assets/${a.assetId}`}>{a.name}</Link>
                </span>
                <span role="cell">{a.kind}</span>
                <span role="cell">v{a.desired.version}</span>
                <span role="cell">{a.deployed ? `v${a.deployed.version}` : '—'}</span>
                <span role="cell">{a.reported ? `v${a.reported.version}` : '—'}</span>
                <span role="cell">{a.drift ? <span className="badge warn">drift: {REASON[a.driftReason ?? ''] ?? a.driftReason}</span> : <span className="badge ok">in sync</span>}</span>
              </div>
            );
          }}
        />
      )}
    </div>
  );
}
