/**
 * Change sets: edits staged on several assets, planned together as a dry run (diffs, impacted
 * assets, violations) and committed as one change set per site with a comment.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api, call, toApiError, type ApiError } from '../api/client.ts';
import type { ChangesetResult } from '../api/types.ts';
import { useMe } from '../auth/me.tsx';
import { Link } from '../lib/router.tsx';
import { staged, useStaged, type StagedEdit } from '../lib/staged.ts';
import { useApi } from '../lib/use-api.ts';
import { DiffView } from '../ui/diff-view.tsx';
import { Denied, Empty, ErrorState, Loading } from '../ui/states.tsx';
import { AssetLink, AssetNames, ViolationList } from '../ui/violations.tsx';

export function ChangesPage() {
  const edits = useStaged();
  const [done, setDone] = useState<string | null>(null);
  const bySite = useMemo(() => {
    const m = new Map<string, StagedEdit[]>();
    for (const e of edits) m.set(e.siteId, [...(m.get(e.siteId) ?? []), e]);
    return m;
  }, [edits]);
  return (
    <section>
      <h1>Change sets</h1>
      <p className="muted">Stage edits from an asset's configuration page, review the plan, and commit them together: all of a site's edits are validated as one change and applied all or nothing.</p>
      {done && (
        <p className="state state-ok" role="status">
          {done}
        </p>
      )}
      {bySite.size === 0 ? (
        <Empty>Nothing staged{done ? ' any more' : ''}. Open an asset, edit its configuration and choose “Stage for a change set”.</Empty>
      ) : (
        [...bySite.entries()].map(([siteId, list]) => <SitePlan key={siteId} siteId={siteId} edits={list} onDone={setDone} />)
      )}
    </section>
  );
}

function SitePlan({ siteId, edits, onDone }: { siteId: string; edits: StagedEdit[]; onDone: (message: string) => void }) {
  const me = useMe();
  const site = me.sites.get(siteId);
  const graph = useApi(() => call(api.GET('/v1/sites/{id}/graph', { params: { path: { id: siteId } } })), [siteId]);
  const names = useMemo(() => new Map((graph.data?.assets ?? []).map((a) => [a.id, a.name])), [graph.data]);
  const [plan, setPlan] = useState<ChangesetResult | null>(null);
  const [busy, setBusy] = useState<'plan' | 'commit' | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [comment, setComment] = useState('');
  const denied = me.whyNot('config.write', siteId);
  useEffect(() => setPlan(null), [edits]); // a plan is for the edits it was made from
  const body = () => ({ comment: comment || undefined, operations: edits.map((e) => ({ op: 'setConfig' as const, id: e.assetId, expectedVersion: e.baseVersion, config: e.config })) });

  async function review() {
    setBusy('plan');
    setError(null);
    try {
      setPlan(await call(api.POST('/v1/sites/{siteId}/changesets', { params: { path: { siteId }, query: { dryRun: true } }, body: body() })));
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(null);
    }
  }
  async function commit(ev: FormEvent) {
    ev.preventDefault();
    setBusy('commit');
    setError(null);
    try {
      const r = await call(api.POST('/v1/sites/{siteId}/changesets', { params: { path: { siteId } }, body: body() }));
      const n = r.changes?.length ?? 0;
      onDone(
        r.changesetId
          ? `Committed change set ${r.changesetId.slice(0, 8)} on site ${site?.code ?? ''}: ${n} change${n === 1 ? '' : 's'}.`
          : `Nothing to commit on site ${site?.code ?? ''}: the staged edits change nothing.`,
      );
      staged.dropSite(siteId);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(null);
    }
  }

  return (
    <AssetNames.Provider value={(id) => names.get(id)}>
      <section className="panel" aria-label={`Staged edits for site ${site?.code ?? siteId}`}>
        <h2>
          Site <Link to={`/sites/${siteId}`}>{site?.code ?? siteId.slice(0, 8)}</Link> — {edits.length} staged edit{edits.length === 1 ? '' : 's'}
        </h2>
        <ul className="staged">
          {edits.map((e) => (
            <li key={e.assetId}>
              <details>
                <summary>
                  <Link to={`/assets/${e.assetId}`}>{e.assetName}</Link> <span className="muted small">on asset version {e.baseVersion}</span>{' '}
                  <button type="button" className="link" onClick={() => staged.drop(e.assetId)}>
                    Remove
                  </button>
                </summary>
                <DiffView before={e.baseConfig} after={e.config} />
              </details>
            </li>
          ))}
        </ul>
        <div className="actions">
          <button type="button" onClick={review} disabled={busy !== null}>
            {busy === 'plan' ? 'Planning…' : 'Review the plan'}
          </button>
        </div>
        {graph.loading && !graph.data && <Loading label="Loading asset names…" />}
        {plan && (
          <div className="plan" aria-live="polite">
            <h3>Plan: {plan.valid ? 'valid' : 'refused by the rules'}</h3>
            {plan.violations.length > 0 && <ViolationList violations={plan.violations} />}
            <p>
              {plan.changes?.length ?? 0} change{plan.changes?.length === 1 ? '' : 's'}; impacted assets:{' '}
              {plan.impacted.length === 0
                ? 'none'
                : plan.impacted.map((id, i) => (
                    <span key={id}>
                      {i > 0 && ', '}
                      <AssetLink id={id} />
                    </span>
                  ))}
            </p>
            {(plan.changes ?? []).map((c) => (
              <details key={c.entityId} open>
                <summary>
                  {c.action} {c.entityType} <AssetLink id={c.entityId} />
                </summary>
                <DiffView before={(c.before as { config?: unknown } | null)?.config ?? c.before} after={(c.after as { config?: unknown } | null)?.config ?? c.after} />
              </details>
            ))}
          </div>
        )}
        {error && <ErrorState error={error} title={error.status === 412 ? 'An asset changed since you staged it: open it, re-apply your edit and stage again' : undefined} />}
        <form className="commit" onSubmit={commit}>
          <label>
            Comment (why these changes)
            <input type="text" value={comment} onChange={(e) => setComment(e.target.value)} required maxLength={2000} disabled={!!denied} />
          </label>
          <button type="submit" className="primary" disabled={busy !== null || !!denied || (plan !== null && !plan.valid)}>
            {busy === 'commit' ? 'Committing…' : 'Commit change set'}
          </button>
          <button type="button" onClick={() => staged.dropSite(siteId)}>
            Discard all
          </button>
          <Denied reason={denied} />
        </form>
      </section>
    </AssetNames.Provider>
  );
}
