/**
 * The web console end to end: rema started as the README says, a small seeded fleet, the
 * site's gateways simulated over MQTT, and a person in headless Chromium who signs in, edits a
 * configuration into a rule violation, sees it explained, fixes and commits it, deploys the site
 * and watches the deployment finish, and finds both in the audit log. Screenshots of the main
 * screens go to docs/screenshots/ (docs/console.md shows them).
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../../src/simulator/simulator.ts';
import { apiOf, CHROMIUM, openBrowser, remaCli, repoRoot, startRema, type StartedRema } from './console-harness.ts';

const shots = path.join(repoRoot, 'docs', 'screenshots');
const hasChromium = existsSync(CHROMIUM);

interface Asset {
  id: string;
  name: string;
  kind: string;
  siteId: string;
  parentId: string | null;
  port: string | null;
  config: Record<string, unknown>;
}
interface Site {
  id: string;
  code: string;
}

describe.skipIf(!hasChromium)('the web console, in a browser against npm start', () => {
  let rema: StartedRema;
  let browser: Awaited<ReturnType<typeof openBrowser>>;
  let sim: SimulatorHandle | undefined;
  let page: Page;
  let site: Site;
  let meter: Asset;
  let neighbour: Asset;
  let bigSite: Site;
  const api = () => apiOf(rema);
  const shot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`) });

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    rema = await startRema();
    await remaCli(['seed', '--sites', '2', '--assets', '90', '--url', rema.url, '--token', rema.token]);
    await remaCli(['seed', '--sites', '1', '--assets', '1000', '--prefix', 'BIG', '--url', rema.url, '--token', rema.token]);
    const sites = (await api()<{ items: Site[] }>('GET', '/v1/sites?limit=50')).body.items;
    site = sites.find((s) => s.code === 'S0001')!;
    bigSite = sites.find((s) => s.code === 'BIG-S0001')!;
    // Two meters on one bus: the second one's unit id is about to collide with the first's.
    const graph = (await api()<{ assets: Asset[] }>('GET', `/v1/sites/${site.id}/graph`)).body;
    const meters = graph.assets.filter((a) => a.kind === 'meter' && a.port && typeof a.config.unitId === 'number');
    [neighbour, meter] = meters.filter((m) => m.parentId === meters[0].parentId && m.port === meters[0].port);
    expect(meter, 'the seeded site has two meters on one bus').toBeDefined();
    const get = async (p: string) => {
      const r = await api()('GET', p);
      if (r.status !== 200) throw new Error(`GET ${p}: ${r.status}`);
      return r.body;
    };
    sim = await startSimulator({ siteCode: site.code, api: get, mqttUrl: rema.mqttUrl, latencyMs: 50 });
    browser = await openBrowser();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await sim?.stop();
    await rema?.stop();
  }, 30_000);

  it('signs in with the printed admin credentials and shows the fleet', async () => {
    await page.goto(rema.url);
    await page.getByLabel('Email').fill(rema.admin.email);
    await page.getByLabel('Password').fill(rema.admin.password);
    await shot('login');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'S0001', exact: true }) });
    await expect.poll(() => row.getByText(/valid|violations/).count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await shot('fleet');
  });

  it('renders the 1,000-asset site and measures its first render', async () => {
    const started = Date.now();
    await page.goto(`${rema.url}/sites/${bigSite.id}`);
    await page.getByRole('heading', { name: /BIG-S0001/ }).waitFor();
    await page.locator('.tree-grid[data-asset]').first().waitFor();
    const coldMs = Date.now() - started;
    await page.getByRole('link', { name: 'Fleet', exact: true }).first().click();
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    const t0 = Date.now();
    await page.getByRole('link', { name: 'BIG-S0001', exact: true }).click();
    await page.locator('.tree-grid[data-asset]').first().waitFor();
    const warmMs = Date.now() - t0;
    const assets = await page.getByText(/of \d+ assets shown/).textContent();
    console.log(`site page with ${assets}: first render ${coldMs} ms from a fresh page load, ${warmMs} ms navigating from the fleet`);
    expect(assets).toMatch(/of 1\d{3} assets shown|of 9\d\d assets shown/);
    await shot('site-1000-assets');
    await page.getByRole('tab', { name: 'Wiring' }).click();
    await page.getByRole('heading', { name: /^Bus rs485-1/ }).first().waitFor();
  });

  it('shows the site tree and its wiring', async () => {
    await page.getByRole('link', { name: 'Fleet', exact: true }).first().click();
    await page.getByRole('link', { name: 'S0001', exact: true }).click();
    await page.getByRole('heading', { name: /^S0001/ }).waitFor();
    await page.getByRole('link', { name: meter.name, exact: true }).waitFor();
    await shot('site-tree');
    await page.getByRole('tab', { name: 'Wiring' }).click();
    await page.getByRole('heading', { name: /^Bus / }).first().waitFor();
    await expect.poll(() => page.getByText(/m of cable \(limit 1200 m\)/).count()).toBeGreaterThan(0);
    await shot('site-wiring');
    await page.getByRole('tab', { name: 'Asset tree' }).click();
  });

  it('explains a unit-id collision next to the field, then commits the fix', async () => {
    await page.getByLabel('Filter assets').fill(meter.name);
    await page.getByRole('link', { name: meter.name, exact: true }).click();
    await page.getByRole('heading', { name: new RegExp(meter.name) }).waitFor();
    const unitId = page.locator('[data-path="/unitId"] input');
    await unitId.fill(String(neighbour.config.unitId));
    const messages = page.locator('[data-messages-for="/unitId"]');
    await expect.poll(() => messages.textContent(), { timeout: 15_000 }).toMatch(/already used by/);
    await expect.poll(() => page.getByTestId('check-status').textContent()).toMatch(/problem/);
    // The conflicting meter is named and linked right at the field.
    expect(await messages.getByRole('link', { name: neighbour.name }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Commit', exact: true }).isDisabled()).toBe(true);
    await shot('asset-violation');

    await unitId.fill('247');
    await expect.poll(() => page.getByTestId('check-status').textContent(), { timeout: 15_000 }).toMatch(/passes every rule/);
    await page.getByLabel('Comment (why this change)').fill('e2e: move the meter to a free unit id');
    await page.getByRole('button', { name: 'Commit', exact: true }).click();
    await page.getByText(/Committed: configuration version 2/).waitFor({ timeout: 15_000 });
    const stored = (await api()<Asset & { configVersion: number }>('GET', `/v1/assets/${meter.id}`)).body;
    expect(stored.config.unitId).toBe(247);
    expect(stored.configVersion).toBe(2);
    await page.getByRole('tab', { name: 'Versions' }).click();
    await page.getByRole('table', { name: 'v1 and v2' }).waitFor();
    await shot('asset-versions');
  });

  it('stages edits on two assets, reviews the plan and commits them as one change set', async () => {
    for (const a of [meter, neighbour]) {
      await page.goto(`${rema.url}/assets/${a.id}`);
      await page.locator('[data-path="/pollIntervalMs"] input').fill('60000');
      await expect.poll(() => page.getByTestId('check-status').textContent(), { timeout: 15_000 }).toMatch(/passes every rule/);
      await page.getByRole('button', { name: 'Stage for a change set' }).click();
      await page.getByText(/^Staged:/).waitFor();
    }
    await page.getByRole('navigation').getByRole('link', { name: 'Change sets (2)' }).click();
    await page.getByRole('button', { name: 'Review the plan' }).click();
    await page.getByRole('heading', { name: 'Plan: valid' }).waitFor();
    await shot('change-set-plan');
    await page.getByLabel('Comment (why these changes)').fill('e2e: poll both meters every minute');
    await page.getByRole('button', { name: 'Commit change set' }).click();
    await page.getByText(/Committed change set .* 2 changes/).waitFor();
    for (const a of [meter, neighbour]) {
      const stored = (await api()<Asset>('GET', `/v1/assets/${a.id}`)).body;
      expect(stored.config.pollIntervalMs).toBe(60000);
    }
  });

  it('catches an edit made on a stale version and re-applies it on the latest one', async () => {
    await page.goto(`${rema.url}/assets/${neighbour.id}`);
    const poll = page.locator('[data-path="/pollIntervalMs"] input');
    await poll.waitFor();
    // Someone else commits a change to the same asset while the page is open.
    const current = (await api()<{ version: number }>('GET', `/v1/assets/${neighbour.id}`)).body;
    const other = await api()('POST', `/v1/sites/${site.id}/changesets`, {
      comment: 'e2e: a colleague slows the polling',
      operations: [{ op: 'updateAsset', id: neighbour.id, expectedVersion: current.version, patch: { config: { pollIntervalMs: 45000 } } }],
    });
    expect(other.status).toBe(201);
    await poll.fill('90000');
    await page.getByText('Someone changed this asset since you opened it').waitFor({ timeout: 15_000 });
    await shot('asset-stale');
    await page.getByRole('button', { name: 'Re-apply my edits on the latest version' }).click();
    await expect.poll(() => page.getByTestId('check-status').textContent(), { timeout: 15_000 }).toMatch(/passes every rule/);
    await page.getByLabel('Comment (why this change)').fill('e2e: re-applied on the latest version');
    await page.getByRole('button', { name: 'Commit', exact: true }).click();
    await page.getByText(/Committed: configuration version/).waitFor({ timeout: 15_000 });
    const stored = (await api()<Asset & { version: number }>('GET', `/v1/assets/${neighbour.id}`)).body;
    expect(stored.config.pollIntervalMs).toBe(90000);
    expect(stored.version).toBe(current.version + 2);
  });

  it('deploys the site to the simulated gateways and watches it finish', async () => {
    await page.goto(`${rema.url}/sites/${site.id}`);
    await page.getByRole('button', { name: 'Deploy site' }).click();
    await page.getByLabel('Batch size').fill('25');
    await page.getByLabel('Device timeout (s)').fill('15');
    await page.getByLabel('Comment').fill('e2e: roll out the new unit id');
    await page.getByRole('button', { name: 'Start deployment' }).click();
    await page.getByRole('heading', { name: /^Deployment / }).waitFor();
    const status = page.locator('h1 .badge');
    await expect.poll(() => status.textContent(), { timeout: 45_000, interval: 500 }).toMatch(/succeeded|failed|aborted/);
    expect(await status.textContent()).toBe('succeeded');
    await shot('deployment');
  });

  it('finds the commit and the deployment in the audit log, with the chains intact', async () => {
    const deploymentId = new URL(page.url()).pathname.split('/').pop()!;
    await page.getByRole('link', { name: 'Audit log' }).click();
    await expect.poll(() => page.getByTestId('chain-status').textContent(), { timeout: 30_000 }).toMatch(/chains intact/);
    await page.getByLabel('Entity id').fill(meter.id);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const update = page.locator('.audit-event[data-action="update"][data-outcome="applied"]').filter({ hasText: 'e2e: move the meter' });
    await update.waitFor();
    await update.locator('summary').click();
    await update.getByText(/"unitId": 247/).first().waitFor();
    await shot('audit');
    // A write the rules refused is in the log too, with its violations.
    const refused = await api()('POST', `/v1/sites/${site.id}/changesets`, {
      comment: 'e2e: a colliding unit id',
      operations: [{ op: 'updateAsset', id: meter.id, expectedVersion: (await api()<{ version: number }>('GET', `/v1/assets/${meter.id}`)).body.version, patch: { config: { unitId: neighbour.config.unitId } } }],
    });
    expect(refused.status).toBe(409);
    await page.getByLabel('Entity id').fill(''); // a refusal is recorded against its change set
    await page.getByLabel('Site').selectOption(site.id);
    await page.getByLabel('Outcome').selectOption('refused');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const refusal = page.locator('.audit-event[data-outcome="refused"]').first();
    await refusal.locator('summary').click();
    await refusal.getByText(/UNIT_ID_TAKEN/).waitFor();
    await shot('audit-refused');
    await page.getByLabel('Site').selectOption('');
    await page.getByLabel('Outcome').selectOption('');
    await page.getByLabel('Entity id').fill(deploymentId);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator('.audit-event[data-action="finish"]').first().waitFor();
    expect(await page.locator('.audit-event[data-action="create"]').count()).toBe(1);
  });

  it('shows the other screens: change sets, deployments, devices, administration', async () => {
    for (const [link, heading, name] of [
      ['Change sets', 'Change sets', 'change-sets'],
      ['Deployments', 'Deployments', 'deployments'],
      ['Devices', 'Devices', 'devices'],
      ['Administration', 'Administration', 'admin'],
    ] as const) {
      await page.getByRole('navigation').getByRole('link', { name: new RegExp(`^${link}`) }).click();
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await page.getByText(/Loading/).first().waitFor({ state: 'detached' }).catch(() => undefined);
      await shot(name);
    }
  });

  it('shows a viewer only their site, with every write control disabled and the reason given', async () => {
    const email = 'viewer@example.com';
    const password = 'viewer-password-1';
    const created = await api()('POST', '/v1/users', { email, name: 'Vera Viewer', password, roles: [{ role: 'viewer', siteId: site.id }] });
    expect(created.status).toBe(201);
    const other = await browser.context.browser()?.newContext();
    const viewer = other ? await other.newPage() : await browser.context.newPage();
    await viewer.goto(rema.url);
    await viewer.evaluate(() => sessionStorage.clear());
    await viewer.reload();
    await viewer.getByLabel('Email').fill(email);
    await viewer.getByLabel('Password').fill(password);
    await viewer.getByRole('button', { name: 'Sign in' }).click();
    await viewer.getByRole('heading', { name: 'Fleet' }).waitFor();
    expect(await viewer.getByRole('heading', { name: 'Sites (1)' }).count()).toBe(1);
    expect(await viewer.getByRole('link', { name: 'Administration' }).count()).toBe(0);
    await viewer.goto(`${rema.url}/assets/${meter.id}`);
    await viewer.getByText(/Read-only: To change configuration you need the engineer or admin role/).waitFor();
    expect(await viewer.getByRole('button', { name: 'Commit', exact: true }).isDisabled()).toBe(true);
    await viewer.close();
    await other?.close();
  });
});
