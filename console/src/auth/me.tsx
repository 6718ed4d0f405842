/**
 * Who is signed in (GET /v1/auth/me) and the sites they can see, for every page: `can()` and
 * `whyNot()` decide which controls are shown, enabled or explained.
 */
import { createContext, useContext, useMemo, type ReactNode } from 'react';
import { api, call } from '../api/client.ts';
import type { Me, Site } from '../api/types.ts';
import { useApi } from '../lib/use-api.ts';
import { can, seesSite, whyNot, type Permission } from './permissions.ts';
import { ErrorState, Loading } from '../ui/states.tsx';

export interface MeContext {
  me: Me;
  /** Every site the principal can see, by id. */
  sites: Map<string, Site>;
  reloadSites: () => void;
  can(permission: Permission, siteId?: string | null): boolean;
  whyNot(permission: Permission, siteId?: string | null): string | null;
}

const Ctx = createContext<MeContext | null>(null);

export function useMe(): MeContext {
  const v = useContext(Ctx);
  if (!v) throw new Error('useMe outside MeProvider');
  return v;
}

/** Every site page by page (500 per request; a fleet of 500 sites is one request). */
export async function loadAllSites(): Promise<Site[]> {
  const out: Site[] = [];
  let cursor: string | undefined;
  do {
    const page = await call(api.GET('/v1/sites', { params: { query: { limit: 500, cursor } } }));
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

export function MeProvider({ children }: { children: ReactNode }) {
  const me = useApi(() => call(api.GET('/v1/auth/me')), []);
  const sites = useApi(loadAllSites, []);
  const value = useMemo<MeContext | null>(() => {
    if (!me.data || !sites.data) return null;
    const m = me.data;
    const visible = new Map(sites.data.filter((s) => seesSite(m, s)).map((s) => [s.id, s]));
    const orgOf = (siteId?: string | null) => (siteId ? visible.get(siteId)?.orgId : undefined) ?? m.orgId ?? undefined;
    return {
      me: m,
      sites: visible,
      reloadSites: sites.reload,
      can: (p, siteId) => can(m, p, { orgId: orgOf(siteId), siteId }),
      whyNot: (p, siteId) => {
        const site = siteId ? visible.get(siteId) : undefined;
        return whyNot(m, p, { orgId: orgOf(siteId), siteId }, site ? `site ${site.code}` : siteId ? 'this site' : 'the organisation');
      },
    };
  }, [me.data, sites.data, sites.reload]);
  if (me.error) return <ErrorState error={me.error} onRetry={me.reload} title="Could not load your account" />;
  if (sites.error) return <ErrorState error={sites.error} onRetry={sites.reload} title="Could not load your sites" />;
  if (!value) return <Loading label="Loading your account and sites…" />;
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}
