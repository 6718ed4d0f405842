/** The console shell: sign-in gate, navigation, and the page for the current path. */
import type { ReactNode } from 'react';
import { MeProvider, useMe } from './auth/me.tsx';
import { canSomewhere } from './auth/permissions.ts';
import { session, useSession } from './auth/session.ts';
import { Link, match, useLocation } from './lib/router.tsx';
import { useStaged } from './lib/staged.ts';
import { AdminPage } from './pages/admin-page.tsx';
import { AssetPage } from './pages/asset-page.tsx';
import { AuditPage } from './pages/audit-page.tsx';
import { ChangesPage } from './pages/changes-page.tsx';
import { DeploymentPage } from './pages/deployment-page.tsx';
import { DeploymentsPage } from './pages/deployments-page.tsx';
import { DevicePage } from './pages/device-page.tsx';
import { DevicesPage } from './pages/devices-page.tsx';
import { FleetPage } from './pages/fleet-page.tsx';
import { LoginPage } from './pages/login-page.tsx';
import { SitePage } from './pages/site-page.tsx';

export function App() {
  const s = useSession();
  if (!s) return <LoginPage />;
  return (
    <MeProvider>
      <Shell />
    </MeProvider>
  );
}

function Shell() {
  const { me } = useMe();
  const { path } = useLocation();
  const stagedCount = useStaged().length;
  const nav: Array<[string, string, boolean]> = [
    ['/', 'Fleet', true],
    ['/changes', `Change sets${stagedCount ? ` (${stagedCount})` : ''}`, true],
    ['/deployments', 'Deployments', true],
    ['/devices', 'Devices', true],
    ['/audit', 'Audit log', canSomewhere(me, 'audit.read')],
    ['/admin', 'Administration', canSomewhere(me, 'admin.manage')],
  ];
  const who = me.user?.name ?? me.name ?? me.id;
  const roles = me.bindings.map((b) => `${b.role}${b.siteId ? ' (one site)' : ''}`).join(', ') || 'no role';
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link to="/" className="brand">
          rema
        </Link>
        <nav aria-label="Main">
          {nav
            .filter(([, , shown]) => shown)
            .map(([to, label]) => (
              <Link key={to} to={to} aria-current={(to === '/' ? path === '/' : path.startsWith(to)) ? 'page' : undefined}>
                {label}
              </Link>
            ))}
        </nav>
        <div className="who">
          <span title={roles}>
            {who} <span className="muted small">({roles})</span>
          </span>
          <button type="button" onClick={() => session.signOut('You signed out.')}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page path={path} />
      </main>
    </>
  );
}

function Page({ path }: { path: string }): ReactNode {
  let m: Record<string, string> | null;
  if (path === '/' || path === '') return <FleetPage />;
  if ((m = match('/sites/:id', path))) return <SitePage key={m.id} siteId={m.id} />;
  if ((m = match('/assets/:id', path))) return <AssetPage key={m.id} assetId={m.id} />;
  if (path === '/changes') return <ChangesPage />;
  if (path === '/deployments') return <DeploymentsPage />;
  if ((m = match('/deployments/:id', path))) return <DeploymentPage key={m.id} deploymentId={m.id} />;
  if (path === '/devices') return <DevicesPage />;
  if ((m = match('/devices/:id', path))) return <DevicePage key={m.id} deviceId={m.id} />;
  if (path === '/audit') return <AuditPage />;
  if (path === '/admin') return <AdminPage />;
  return (
    <div className="state state-empty">
      <h1>Page not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link to="/">Go to the fleet overview</Link>.
      </p>
    </div>
  );
}
