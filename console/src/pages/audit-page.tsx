/** The audit log: filters, before/after of every event, refusals with their violations, chain verification, export. */
import { useEffect, useMemo, useState } from 'react';
import { api, call, fetchText, toApiError, type ApiError } from '../api/client.ts';
import { asAuditEvents, type AuditEvent, type AuditQuery } from '../api/types.ts';
import { useMe } from '../auth/me.tsx';
import { setQuery, useLocation } from '../lib/router.tsx';
import { useApi } from '../lib/use-api.ts';
import { AuditEventItem } from '../ui/audit-event.tsx';
import { Empty, ErrorState, Loading } from '../ui/states.tsx';
import { AssetNames } from '../ui/violations.tsx';

const FILTERS = ['siteId', 'entityId', 'actorId', 'action', 'outcome', 'from', 'to'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

function toQuery(f: Filters): Omit<AuditQuery, 'limit'> & Record<string, string> {
  const q: Record<string, string> = {};
  for (const k of FILTERS) {
    const v = f[k]?.trim();
    if (!v) continue;
    q[k] = k === 'from' || k === 'to' ? new Date(v).toISOString() : v;
  }
  return q;
}

export function AuditPage() {
  const me = useMe();
  const { query } = useLocation();
  const applied: Filters = Object.fromEntries(FILTERS.map((k) => [k, query.get(k) ?? ''])) as Filters;
  const [form, setForm] = useState<Filters>(applied);
  const [pages, setPages] = useState<AuditEvent[]>([]);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const key = FILTERS.map((k) => applied[k]).join('|');
  useEffect(() => {
    setPages([]);
    setCursor(undefined);
  }, [key]);
  const page = useApi(() => call(api.GET('/v1/audit', { params: { query: { ...toQuery(applied), limit: 100, cursor } } })), [key, cursor]);
  const sites = [...me.sites.values()].sort((a, b) => a.code.localeCompare(b.code));
  // With a site chosen, its graph names the assets that violations point at.
  const graph = useApi(() => call(api.GET('/v1/sites/{id}/graph', { params: { path: { id: applied.siteId! } } })), [applied.siteId], { enabled: !!applied.siteId });
  const names = useMemo(() => new Map((graph.data?.assets ?? []).map((a) => [a.id, a.name])), [graph.data]);
  const set = (k: keyof Filters, v: string) => setForm({ ...form, [k]: v });
  const items = [...pages, ...asAuditEvents(page.data?.items ?? [])];

  return (
    <AssetNames.Provider value={(id) => names.get(id)}>
    <section>
      <h1>Audit log</h1>
      <ChainStatus />
      <form
        className="panel filters"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery(Object.fromEntries(FILTERS.map((k) => [k, form[k] || null])));
        }}
      >
        <div className="row">
          <label>
            Site
            <select value={form.siteId ?? ''} onChange={(e) => set('siteId', e.target.value)}>
              <option value="">all</option>
              {sites.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.code}
                </option>
              ))}
            </select>
          </label>
          <label>
            Outcome
            <select value={form.outcome ?? ''} onChange={(e) => set('outcome', e.target.value)}>
              <option value="">any</option>
              <option value="applied">applied</option>
              <option value="refused">refused (blocked by rules)</option>
              <option value="denied">denied (authentication or authorisation)</option>
            </select>
          </label>
          <label>
            Action
            <input list="audit-actions" value={form.action ?? ''} onChange={(e) => set('action', e.target.value)} />
            <datalist id="audit-actions">
              {['create', 'update', 'delete', 'login', 'start-batch', 'finish-batch', 'finish', 'cancel', 'install', 'commission', 'replace'].map((a) => (
                <option key={a} value={a} />
              ))}
            </datalist>
          </label>
          <label>
            Entity id
            <input value={form.entityId ?? ''} onChange={(e) => set('entityId', e.target.value)} placeholder="asset, deployment, device… uuid" />
          </label>
          <label>
            Actor id
            <input value={form.actorId ?? ''} onChange={(e) => set('actorId', e.target.value)} />
          </label>
          <label>
            From
            <input type="datetime-local" value={form.from ?? ''} onChange={(e) => set('from', e.target.value)} />
          </label>
          <label>
            To
            <input type="datetime-local" value={form.to ?? ''} onChange={(e) => set('to', e.target.value)} />
          </label>
        </div>
        <div className="actions">
          <button type="submit" className="primary">
            Apply filters
          </button>
          <button
            type="button"
            onClick={() => {
              setForm({});
              setQuery(Object.fromEntries(FILTERS.map((k) => [k, null])));
            }}
          >
            Clear
          </button>
          <Export filters={applied} />
        </div>
      </form>
      {page.error ? (
        <ErrorState error={page.error} onRetry={page.reload} title="Audit log unavailable" />
      ) : !page.data && items.length === 0 ? (
        <Loading label="Loading audit events…" />
      ) : items.length === 0 ? (
        <Empty>No audit events match these filters.</Empty>
      ) : (
        <>
          <ol className="timeline" aria-label="Audit events, newest first">
            {items.map((e) => (
              <AuditEventItem key={e.id} e={e} />
            ))}
          </ol>
          {page.loading && <Loading label="Loading more…" />}
          {page.data?.nextCursor && (
            <button
              type="button"
              onClick={() => {
                setPages(items);
                setCursor(page.data!.nextCursor!);
              }}
            >
              Load older events
            </button>
          )}
        </>
      )}
    </section>
    </AssetNames.Provider>
  );
}

function ChainStatus() {
  const verify = useApi(() => call(api.GET('/v1/audit/verify')), []);
  return (
    <div className="panel" aria-live="polite" data-testid="chain-status">
      {verify.error ? (
        <ErrorState error={verify.error} onRetry={verify.reload} title="Chain verification failed to run" />
      ) : !verify.data || verify.loading ? (
        <Loading label="Verifying the audit hash chains…" />
      ) : verify.data.ok ? (
        <p>
          <span className="badge ok">chains intact</span> {verify.data.events} events in {verify.data.scopes} chains verified.{' '}
          <button type="button" className="link" onClick={verify.reload}>
            Verify again
          </button>
        </p>
      ) : (
        <div role="alert">
          <p>
            <span className="badge bad">tampering detected</span> {verify.data.problems.length} problems in {verify.data.scopes} chains:
          </p>
          <ul>
            {verify.data.problems.slice(0, 50).map((p, i) => (
              <li key={i}>
                <code>{p.scope}</code> #{p.seq} {p.problem}: {p.detail}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

function Export({ filters }: { filters: Filters }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  async function download(format: 'ndjson' | 'csv') {
    setBusy(format);
    setError(null);
    try {
      const params = new URLSearchParams({ ...toQuery(filters), format });
      const text = await fetchText(`/v1/audit?${params}`, format === 'csv' ? 'text/csv' : 'application/x-ndjson');
      const url = URL.createObjectURL(new Blob([text], { type: format === 'csv' ? 'text/csv' : 'application/x-ndjson' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `rema-audit.${format}`;
      a.click();
      URL.revokeObjectURL(url);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(null);
    }
  }
  return (
    <>
      <button type="button" onClick={() => download('ndjson')} disabled={busy !== null}>
        {busy === 'ndjson' ? 'Exporting…' : 'Export NDJSON'}
      </button>
      <button type="button" onClick={() => download('csv')} disabled={busy !== null}>
        {busy === 'csv' ? 'Exporting…' : 'Export CSV'}
      </button>
      {error && <ErrorState error={error} title="Export failed" />}
    </>
  );
}
