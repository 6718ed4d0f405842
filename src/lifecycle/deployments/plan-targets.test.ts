import { describe, expect, it } from 'vitest';
import type { AssetViewData, SiteViewData } from '../../core/changes/views.ts';
import { configHash } from '../../core/config-hash.ts';
import { gatewayOf, planTargets } from './plan-targets.ts';

const site: SiteViewData = { id: 's', orgId: 'o', code: 'BER-1', name: 'Berlin', timezone: 'Europe/Berlin', network: { subnet: '10.0.0.0/24', router: '10.0.0.1' }, revision: 1, version: 1 };
let n = 0;
function asset(kind: AssetViewData['kind'], name: string, parentId: string | null, extra: Partial<AssetViewData> = {}): AssetViewData {
  return { id: `a${++n}`, siteId: 's', kind, modelId: 'm', name, serial: null, status: 'active', firmware: null, parentId, port: null, config: { name }, configVersion: 3, deployedVersion: null, version: 1, ...extra };
}

const gw = asset('gateway', 'GW-1', null);
const meter = asset('meter', 'M-1', gw.id);
const ctrl = asset('controller', 'DC-1', gw.id);
const sensor = asset('sensor', 'T-1', ctrl.id);
const retired = asset('meter', 'M-old', gw.id, { status: 'retired' });
const orphan = asset('sensor', 'T-lost', null);
const graph = { site, assets: [sensor, meter, retired, ctrl, gw] };

describe('planTargets', () => {
  it('sends every asset its latest version through its gateway, gateways first, in batches', () => {
    const plan = planTargets(graph, { batchSize: 2 });
    expect(plan.kind).toBe('ok');
    if (plan.kind !== 'ok') return;
    expect(plan.targets.map((t) => [t.assetId, t.batch])).toEqual([
      [gw.id, 1],
      [ctrl.id, 1],
      [meter.id, 2],
      [sensor.id, 2],
    ]);
    expect(plan.targets.every((t) => t.gatewayId === gw.id && t.siteCode === 'BER-1' && t.configVersion === 3)).toBe(true);
    expect(plan.targets[3].configHash).toBe(configHash({ name: 'T-1' }));
  });

  it('leaves retired assets out of a whole-site deployment', () => {
    const plan = planTargets(graph, { batchSize: 10 });
    expect(plan.kind === 'ok' && plan.targets.map((t) => t.assetId)).not.toContain(retired.id);
  });

  it('refuses, with every reason, assets of another site, retired ones and ones with no gateway', () => {
    const plan = planTargets({ site, assets: [...graph.assets, orphan] }, { batchSize: 10, assetIds: [meter.id, 'elsewhere', retired.id, orphan.id] });
    expect(plan).toEqual({
      kind: 'invalid',
      errors: [
        { in: 'body', path: '/assetIds/1', message: 'asset elsewhere is not in site BER-1' },
        { in: 'body', path: '/assetIds/2', message: 'meter M-old is retired; it gets no configuration' },
        { in: 'body', path: '/assetIds/3', message: 'sensor T-lost has no gateway above it to carry its configuration' },
      ],
    });
  });

  it('refuses a site with nothing to deploy', () => {
    expect(planTargets({ site, assets: [] }, { batchSize: 10 }).kind).toBe('invalid');
  });
});

describe('gatewayOf', () => {
  it('is the asset itself for a gateway, the first gateway up the chain otherwise, undefined for a loop', () => {
    const byId = new Map(graph.assets.map((a) => [a.id, a]));
    expect(gatewayOf(gw, byId)?.id).toBe(gw.id);
    expect(gatewayOf(sensor, byId)?.id).toBe(gw.id);
    const x = asset('sensor', 'X', 'y');
    const y = asset('controller', 'Y', x.id, { id: 'y' });
    expect(gatewayOf(x, new Map([[x.id, x], ['y', y]]))).toBeUndefined();
  });
});
