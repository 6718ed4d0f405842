import type { HttpApp } from '../../src/http/app.ts';
import type { AssetViewData, ConnectionViewData, SiteViewData } from '../../src/core/changes/views.ts';
import type { Violation } from '../../src/core/rules/types.ts';

/**
 * A thin client for the property test: every call goes through the real HTTP stack
 * (`app.inject`), so routing, schemas, the write path and the audit log are all exercised.
 */
export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

export interface SiteGraphView {
  site: SiteViewData;
  assets: AssetViewData[];
  connections: ConnectionViewData[];
}

export interface AuditEventView {
  seq: number;
  entityType: string;
  entityId: string;
  action: string;
  outcome: 'applied' | 'refused' | 'denied';
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

export function siteApi(app: HttpApp, token: string) {
  async function call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const res = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {} };
  }

  async function ok(method: 'GET' | 'POST', url: string, body?: unknown): Promise<Record<string, unknown>> {
    const reply = await call(method, url, body);
    if (reply.status >= 300) throw new Error(`${method} ${url} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    return reply.body;
  }

  return {
    call,

    async createSite(code: string): Promise<SiteViewData> {
      const body = { code, name: `Property site ${code}`, timezone: 'Europe/Berlin', network: { subnet: '10.20.0.0/24', router: '10.20.0.1' } };
      return (await ok('POST', '/v1/sites', body)) as unknown as SiteViewData;
    },

    /** The stored graph, assets and cables sorted by id so two reads compare equal. */
    async graph(siteId: string): Promise<SiteGraphView> {
      const g = (await ok('GET', `/v1/sites/${siteId}/graph`)) as unknown as SiteGraphView;
      const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
      return { site: g.site, assets: [...g.assets].sort(byId), connections: [...g.connections].sort(byId) };
    },

    async validate(siteId: string): Promise<Violation[]> {
      const body = await ok('POST', `/v1/sites/${siteId}/validate`);
      return body.violations as Violation[];
    },

    /** Every audit event of the site, in chain order (`seq`), oldest first. */
    async auditLog(siteId: string): Promise<AuditEventView[]> {
      const events: AuditEventView[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `siteId=${siteId}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page = await ok('GET', `/v1/audit?${query}`);
        events.push(...(page.items as AuditEventView[]));
        cursor = page.nextCursor as string | null;
      } while (cursor);
      // The API pages newest first by (at, id); two change sets in one millisecond share `at`,
      // so the chain position is the order of record.
      return events.sort((a, b) => a.seq - b.seq);
    },
  };
}

export type SiteApi = ReturnType<typeof siteApi>;

/**
 * Rebuilds a site's assets and cables from its audit log alone: each applied event's `after`
 * replaces the entity, a delete removes it. Refused change sets carry no entity state.
 */
export function replayAudit(events: AuditEventView[]): { assets: Record<string, unknown>[]; connections: Record<string, unknown>[] } {
  const state = { asset: new Map<string, Record<string, unknown>>(), connection: new Map<string, Record<string, unknown>>() };
  for (const e of events) {
    if (e.outcome !== 'applied' || (e.entityType !== 'asset' && e.entityType !== 'connection')) continue;
    const table = state[e.entityType];
    if (e.action === 'delete' || e.after === null) table.delete(e.entityId);
    else table.set(e.entityId, e.after);
  }
  const sorted = (m: Map<string, Record<string, unknown>>) => [...m.values()].sort((a, b) => String(a.id).localeCompare(String(b.id)));
  return { assets: sorted(state.asset), connections: sorted(state.connection) };
}
