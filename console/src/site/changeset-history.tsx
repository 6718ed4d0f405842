/** The change sets applied to (or refused on) a site, newest first. */
import { api, call } from '../api/client.ts';
import { useApi } from '../lib/use-api.ts';
import { Empty, ErrorState, Loading } from '../ui/states.tsx';
import { ViolationList } from '../ui/violations.tsx';

export function ChangesetHistory({ siteId }: { siteId: string }) {
  const sets = useApi(() => call(api.GET('/v1/sites/{siteId}/changesets', { params: { path: { siteId }, query: { limit: 50 } } })), [siteId]);
  if (sets.error) return <ErrorState error={sets.error} onRetry={sets.reload} title="Change history unavailable" />;
  if (!sets.data) return <Loading label="Loading change history…" />;
  if (sets.data.items.length === 0) return <Empty>No change sets on this site yet.</Empty>;
  return (
    <ol className="timeline">
      {sets.data.items.map((c) => (
        <li key={c.id} className={c.outcome === 'refused' ? 'refused' : ''}>
          <span className={`badge ${c.outcome === 'applied' ? 'ok' : 'bad'}`}>{c.outcome}</span> <time dateTime={c.createdAt}>{new Date(c.createdAt).toLocaleString()}</time> · {String((c.actor as { name?: string }).name ?? 'unknown')} · {c.operations.length} operation{c.operations.length === 1 ? '' : 's'}
          {c.comment && <q> {c.comment}</q>}
          {c.violations && c.violations.length > 0 && <ViolationList violations={c.violations} />}
        </li>
      ))}
    </ol>
  );
}
