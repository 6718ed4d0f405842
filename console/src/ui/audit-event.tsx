/** One audit event: who did what, when, the outcome, and before/after side by side. */
import type { AuditEvent } from '../api/types.ts';
import { Link } from '../lib/router.tsx';
import { DiffView } from './diff-view.tsx';
import { ViolationList } from './violations.tsx';

const actorName = (e: AuditEvent) => {
  const a = e.actor;
  return `${a.name ?? a.id ?? 'unknown'}${a.onBehalfOf?.name ? ` for ${a.onBehalfOf.name}` : ''}`;
};

function entityLink(e: AuditEvent) {
  if (e.entityType === 'asset') return <Link to={`/assets/${e.entityId}`}>asset {String((e.after as { name?: string } | null)?.name ?? (e.before as { name?: string } | null)?.name ?? e.entityId.slice(0, 8))}</Link>;
  if (e.entityType === 'deployment') return <Link to={`/deployments/${e.entityId}`}>deployment {e.entityId.slice(0, 8)}</Link>;
  if (e.entityType === 'device') return <Link to={`/devices/${e.entityId}`}>device {String((e.after as { serial?: string } | null)?.serial ?? e.entityId.slice(0, 8))}</Link>;
  if (e.entityType === 'site') return <Link to={`/sites/${e.entityId}`}>site</Link>;
  if (e.entityType === 'changeset') return <span>change set {e.entityId.slice(0, 8)}</span>;
  return (
    <span>
      {e.entityType} {e.entityId.slice(0, 12)}
    </span>
  );
}

export function AuditEventItem({ e }: { e: AuditEvent }) {
  const outcomeClass = e.outcome === 'applied' ? 'ok' : 'bad';
  return (
    <li className={`audit-event outcome-${e.outcome}`} data-action={e.action} data-outcome={e.outcome}>
      <details>
        <summary>
          <span className={`badge ${outcomeClass}`}>{e.outcome}</span> <strong>{e.action}</strong> {entityLink(e)} · <time dateTime={e.at}>{new Date(e.at).toLocaleString()}</time> · {actorName(e)} <span className="muted small">({e.service})</span>
          {e.comment && <q className="small"> {e.comment}</q>}
        </summary>
        <dl className="facts small">
          <dt>Request</dt>
          <dd>{e.requestId ?? '—'}</dd>
          <dt>Change set</dt>
          <dd>{e.changesetId ?? '—'}</dd>
          <dt>Chain</dt>
          <dd>
            {e.scope} #{e.seq}
          </dd>
          <dt>Source</dt>
          <dd>{e.sourceIp ?? '—'}</dd>
        </dl>
        {e.violations && e.violations.length > 0 && <ViolationList violations={e.violations} />}
        {(e.before !== null || e.after !== null) && <DiffView before={e.before} after={e.after} leftLabel="Before" rightLabel={e.outcome === 'applied' ? 'After' : 'Asked for (refused)'} />}
      </details>
    </li>
  );
}
