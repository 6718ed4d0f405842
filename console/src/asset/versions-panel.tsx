/** The asset's immutable configuration versions; any two side by side. */
import { useState } from 'react';
import { api, call } from '../api/client.ts';
import type { Asset } from '../api/types.ts';
import { useApi } from '../lib/use-api.ts';
import { DiffView } from '../ui/diff-view.tsx';
import { Empty, ErrorState, Loading } from '../ui/states.tsx';

export function VersionsPanel({ asset }: { asset: Asset }) {
  const versions = useApi(() => call(api.GET('/v1/assets/{id}/versions', { params: { path: { id: asset.id }, query: { limit: 200 } } })), [asset.id, asset.configVersion]);
  const latest = asset.configVersion;
  const [from, setFrom] = useState(Math.max(1, latest - 1));
  const [to, setTo] = useState(latest);
  const pair = useApi(
    () =>
      Promise.all([from, to].map((v) => call(api.GET('/v1/assets/{id}/versions/{version}', { params: { path: { id: asset.id, version: v } } })))),
    [asset.id, from, to],
  );
  if (versions.error) return <ErrorState error={versions.error} onRetry={versions.reload} title="Versions unavailable" />;
  if (!versions.data) return <Loading label="Loading versions…" />;
  const items = versions.data.items;
  if (items.length === 0) return <Empty>No configuration versions.</Empty>;
  const options = items.map((v) => (
    <option key={v.version} value={v.version}>
      v{v.version} — {new Date(v.createdAt).toLocaleString()}
    </option>
  ));
  return (
    <div>
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Created</th>
            <th scope="col">Attached to</th>
            <th scope="col">Change set</th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {items.map((v) => (
            <tr key={v.version}>
              <td>v{v.version}</td>
              <td>{new Date(v.createdAt).toLocaleString()}</td>
              <td>{v.port ?? '—'}</td>
              <td className="small">{v.changesetId.slice(0, 8)}</td>
              <td>
                {v.version === asset.configVersion && <span className="badge info">desired</span>} {v.version === asset.deployedVersion && <span className="badge ok">deployed</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="toolbar">
        <label>
          Compare
          <select value={from} onChange={(e) => setFrom(Number(e.target.value))}>
            {options}
          </select>
        </label>
        <label>
          with
          <select value={to} onChange={(e) => setTo(Number(e.target.value))}>
            {options}
          </select>
        </label>
      </div>
      {pair.error ? <ErrorState error={pair.error} onRetry={pair.reload} /> : !pair.data ? <Loading label="Loading both versions…" /> : <DiffView before={pair.data[0].config} after={pair.data[1].config} leftLabel={`v${from}`} rightLabel={`v${to}`} contextLines={1000} />}
    </div>
  );
}
