/** One deployment, live: progress, batches and every device's result; cancel while it runs. */
import { useMemo, useState } from 'react';
import { api, call, toApiError, type ApiError } from '../api/client.ts';
import type { Deployment } from '../api/types.ts';
import { useMe } from '../auth/me.tsx';
import { Link } from '../lib/router.tsx';
import { useApi } from '../lib/use-api.ts';
import { Denied, ErrorState, Loading, Progress } from '../ui/states.tsx';
import { StatusBadge } from './deployments-page.tsx';

export function DeploymentPage({ deploymentId }: { deploymentId: string }) {
  const me = useMe();
  const [running, setRunning] = useState(true);
  const dep = useApi(
    async () => {
      const d = await call(api.GET('/v1/deployments/{id}', { params: { path: { id: deploymentId } } }));
      setRunning(d.status === 'running');
      return d;
    },
    [deploymentId],
    { pollMs: running ? 1000 : undefined },
  );
  const siteId = dep.data?.siteId;
  const graph = useApi(() => call(api.GET('/v1/sites/{id}/graph', { params: { path: { id: siteId! } } })), [siteId], { enabled: !!siteId });
  const names = useMemo(() => new Map((graph.data?.assets ?? []).map((a) => [a.id, a.name])), [graph.data]);
  const [cancelling, setCancelling] = useState(false);
  const [cancelError, setCancelError] = useState<ApiError | null>(null);

  if (dep.error && !dep.data) return <ErrorState error={dep.error} onRetry={dep.reload} title="Could not load the deployment" />;
  if (!dep.data) return <Loading label="Loading the deployment…" />;
  const d = dep.data;
  const site = me.sites.get(d.siteId);
  const t = d.targets;
  const settled = t.acked + t.failed + t.timed_out + t.cancelled;
  const denied = me.whyNot('deploy', d.siteId);

  async function cancel() {
    if (!window.confirm('Cancel this deployment? Targets not yet acknowledged are cancelled.')) return;
    setCancelling(true);
    setCancelError(null);
    try {
      await call(api.POST('/v1/deployments/{id}/cancel', { params: { path: { id: d.id } }, body: {} }));
      dep.reload();
    } catch (e) {
      setCancelError(toApiError(e));
    } finally {
      setCancelling(false);
    }
  }

  return (
    <section>
      <p className="crumbs">
        <Link to="/deployments">Deployments</Link> / {d.id.slice(0, 8)}
      </p>
      <h1>
        Deployment {d.id.slice(0, 8)} <StatusBadge status={d.status} />
      </h1>
      <p className="muted">
        Site <Link to={`/sites/${d.siteId}`}>{site?.code ?? d.siteId.slice(0, 8)}</Link> · started {new Date(d.createdAt).toLocaleString()} by {String((d.actor as { name?: string }).name ?? 'unknown')}
        {d.finishedAt && ` · finished ${new Date(d.finishedAt).toLocaleString()}`} · batches of {d.batchSize}, abort above {Math.round(d.failureThreshold * 100)} % failures, {d.timeoutMs / 1000} s timeout
        {d.comment && ` · “${d.comment}”`}
      </p>
      <div aria-live="polite" data-testid="deployment-progress">
        <Progress value={settled} max={t.total} label={d.status === 'running' ? `Batch ${d.currentBatch} of ${d.batches}` : 'Settled'} />
        <p>
          {t.acked} acknowledged · {t.sent} waiting for an answer · {t.pending} pending · {t.failed} rejected · {t.timed_out} timed out · {t.cancelled} cancelled
        </p>
        {d.reason && <p className="state state-info">{d.reason}</p>}
      </div>
      {d.status === 'running' && (
        <div className="actions">
          <button type="button" onClick={cancel} disabled={cancelling || !!denied}>
            {cancelling ? 'Cancelling…' : 'Cancel deployment'}
          </button>
          <Denied reason={denied} />
        </div>
      )}
      {cancelError && <ErrorState error={cancelError} title="Not cancelled" />}
      <Batches d={d} names={names} />
    </section>
  );
}

function Batches({ d, names }: { d: Deployment; names: Map<string, string> }) {
  const batches = useMemo(() => {
    const m = new Map<number, Deployment['results']>();
    for (const r of d.results) m.set(r.batch, [...(m.get(r.batch) ?? []), r]);
    return [...m.entries()].sort((a, b) => a[0] - b[0]);
  }, [d.results]);
  return (
    <div>
      {batches.map(([n, results]) => {
        const acked = results.filter((r) => r.status === 'acked').length;
        return (
          <details key={n} className="panel batch" open={n === d.currentBatch || results.some((r) => r.status === 'failed' || r.status === 'timed_out')}>
            <summary>
              Batch {n}: {acked} / {results.length} acknowledged
            </summary>
            <table className="list">
              <thead>
                <tr>
                  <th scope="col">Asset</th>
                  <th scope="col">Version</th>
                  <th scope="col">Result</th>
                  <th scope="col">Sent</th>
                  <th scope="col">Finished</th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {results.map((r) => (
                  <tr key={r.assetId}>
                    <td>
                      <Link to={`/assets/${r.assetId}`}>{names.get(r.assetId) ?? r.assetId.slice(0, 8)}</Link>
                    </td>
                    <td>v{r.configVersion}</td>
                    <td>
                      <StatusBadge status={r.status} />
                    </td>
                    <td>{r.sentAt ? new Date(r.sentAt).toLocaleTimeString() : '—'}</td>
                    <td>{r.finishedAt ? new Date(r.finishedAt).toLocaleTimeString() : '—'}</td>
                    <td>{r.error ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        );
      })}
    </div>
  );
}
