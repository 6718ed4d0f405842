/** Every audit event of one asset, newest first, page by page. */
import { useState } from 'react';
import { api, call } from '../api/client.ts';
import { asAuditEvents, type AuditEvent } from '../api/types.ts';
import { useApi } from '../lib/use-api.ts';
import { AuditEventItem } from '../ui/audit-event.tsx';
import { Empty, ErrorState, Loading } from '../ui/states.tsx';

export function AuditTimeline({ assetId }: { assetId: string }) {
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [earlier, setEarlier] = useState<AuditEvent[]>([]);
  const page = useApi(() => call(api.GET('/v1/assets/{id}/history', { params: { path: { id: assetId }, query: { limit: 50, cursor } } })), [assetId, cursor]);
  if (page.error) return <ErrorState error={page.error} onRetry={page.reload} title="Audit timeline unavailable" />;
  if (!page.data) return <Loading label="Loading the audit timeline…" />;
  const items = [...earlier, ...asAuditEvents(page.data.items)];
  if (items.length === 0) return <Empty>No audit events for this asset.</Empty>;
  return (
    <div>
      <ol className="timeline">
        {items.map((e) => (
          <AuditEventItem key={e.id} e={e} />
        ))}
      </ol>
      {page.data.nextCursor && (
        <button
          type="button"
          onClick={() => {
            setEarlier(items);
            setCursor(page.data!.nextCursor!);
          }}
        >
          Load older events
        </button>
      )}
    </div>
  );
}
