/** Deployments: start one for a site or a selection of its assets; every deployment and its state. */
import { useState, type FormEvent } from 'react';
import { api, call, toApiError, type ApiError } from '../api/client.ts';
import type { DeploymentSummary } from '../api/types.ts';
import { useMe } from '../auth/me.tsx';
import { Link, navigate, setQuery, useLocation } from '../lib/router.tsx';
import { useApi } from '../lib/use-api.ts';
import { Denied, Empty, ErrorState, Loading } from '../ui/states.tsx';

const STATUSES = ['running', 'succeeded', 'failed', 'aborted', 'cancelled'] as const;

export function DeploymentsPage() {
  const me = useMe();
  const { query } = useLocation();
  const siteId = query.get('siteId') ?? '';
  const status = query.get('status') ?? '';
  const list = useApi(
    () => call(api.GET('/v1/deployments', { params: { query: { siteId: siteId || undefined, status: (status || undefined) as (typeof STATUSES)[number] | undefined, limit: 100 } } })),
    [siteId, status],
    { pollMs: 3000 },
  );
  const sites = [...me.sites.values()].sort((a, b) => a.code.localeCompare(b.code));
  return (
    <section>
      <h1>Deployments</h1>
      {query.get('new') ? (
        <NewDeployment siteId={siteId} assetIds={(query.get('assets') ?? '').split(',').filter(Boolean)} />
      ) : (
        <button type="button" className="primary" onClick={() => setQuery({ new: '1' })}>
          Start a deployment
        </button>
      )}
      <h2>All deployments</h2>
      <div className="toolbar">
        <label>
          Site
          <select value={siteId} onChange={(e) => setQuery({ siteId: e.target.value || null })}>
            <option value="">all sites</option>
            {sites.map((s) => (
              <option key={s.id} value={s.id}>
                {s.code} {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => setQuery({ status: e.target.value || null })}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      </div>
      {list.error ? (
        <ErrorState error={list.error} onRetry={list.reload} title="Deployments unavailable" />
      ) : !list.data ? (
        <Loading label="Loading deployments…" />
      ) : list.data.items.length === 0 ? (
        <Empty>No deployments{siteId || status ? ' match these filters' : ' yet'}.</Empty>
      ) : (
        <DeploymentTable items={list.data.items} />
      )}
    </section>
  );
}

function DeploymentTable({ items }: { items: DeploymentSummary[] }) {
  const me = useMe();
  return (
    <table className="list">
      <thead>
        <tr>
          <th scope="col">Deployment</th>
          <th scope="col">Site</th>
          <th scope="col">Status</th>
          <th scope="col">Targets</th>
          <th scope="col">Started</th>
          <th scope="col">Comment</th>
        </tr>
      </thead>
      <tbody>
        {items.map((d) => (
          <tr key={d.id}>
            <td>
              <Link to={`/deployments/${d.id}`}>{d.id.slice(0, 8)}</Link>
            </td>
            <td>{me.sites.get(d.siteId)?.code ?? d.siteId.slice(0, 8)}</td>
            <td>
              <StatusBadge status={d.status} />
            </td>
            <td>
              {d.targets.acked} / {d.targets.total} acknowledged{d.targets.failed + d.targets.timed_out ? `, ${d.targets.failed + d.targets.timed_out} failed` : ''}
            </td>
            <td>{new Date(d.createdAt).toLocaleString()}</td>
            <td>{d.comment ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function StatusBadge({ status }: { status: string }) {
  const cls = status === 'succeeded' || status === 'acked' ? 'ok' : status === 'running' || status === 'sent' || status === 'pending' ? 'info' : 'bad';
  return <span className={`badge ${cls}`}>{status.replace('_', ' ')}</span>;
}

function NewDeployment({ siteId: initialSite, assetIds }: { siteId: string; assetIds: string[] }) {
  const me = useMe();
  const [siteId, setSiteId] = useState(initialSite);
  const [batchSize, setBatchSize] = useState(10);
  const [threshold, setThreshold] = useState(10);
  const [timeoutS, setTimeoutS] = useState(30);
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const denied = siteId ? me.whyNot('deploy', siteId) : null;
  const sites = [...me.sites.values()].sort((a, b) => a.code.localeCompare(b.code));

  async function start(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const d = await call(
        api.POST('/v1/deployments', {
          body: { siteId, assetIds: assetIds.length ? assetIds : undefined, batchSize, failureThreshold: threshold / 100, timeoutMs: timeoutS * 1000, comment: comment || null },
        }),
      );
      navigate(`/deployments/${d.id}`);
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="panel" onSubmit={start} aria-label="Start a deployment">
      <h2>Start a deployment</h2>
      <p className="muted">Publishes each target's desired configuration to its gateway over MQTT, in batches; stops early when too many devices fail or stay silent.</p>
      <label>
        Site
        <select value={siteId} onChange={(e) => setSiteId(e.target.value)} required>
          <option value="">choose a site…</option>
          {sites.map((s) => (
            <option key={s.id} value={s.id}>
              {s.code} {s.name}
            </option>
          ))}
        </select>
      </label>
      <p>{assetIds.length ? `${assetIds.length} selected assets (from the site page).` : 'Every asset of the site that is not retired.'}</p>
      <div className="row">
        <label>
          Batch size
          <input type="number" min={1} max={1000} value={batchSize} onChange={(e) => setBatchSize(Number(e.target.value))} />
        </label>
        <label>
          Abort above failures (%)
          <input type="number" min={0} max={100} value={threshold} onChange={(e) => setThreshold(Number(e.target.value))} />
        </label>
        <label>
          Device timeout (s)
          <input type="number" min={1} max={86400} value={timeoutS} onChange={(e) => setTimeoutS(Number(e.target.value))} />
        </label>
      </div>
      <label>
        Comment
        <input type="text" value={comment} onChange={(e) => setComment(e.target.value)} maxLength={2000} />
      </label>
      <div className="actions">
        <button type="submit" className="primary" disabled={busy || !siteId || !!denied}>
          {busy ? 'Starting…' : 'Start deployment'}
        </button>
        <button type="button" onClick={() => setQuery({ new: null, assets: null })}>
          Cancel
        </button>
        <Denied reason={denied} />
      </div>
      {error && <ErrorState error={error} title="The deployment did not start" />}
    </form>
  );
}
