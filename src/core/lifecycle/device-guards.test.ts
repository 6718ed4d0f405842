import { describe, expect, it } from 'vitest';
import { configHash } from '../config-hash.ts';
import { checkReplacement, checkTransition, judgeTransitions, type Dependent, type GuardAsset, type GuardDevice, type TransitionFacts } from './device-guards.ts';
import { DEVICE_STATES, TRANSITIONS, type DeviceState, type Transition } from './device-states.ts';

const ORG = 'org-1';
const config = { unitId: 5, pollIntervalMs: 15000 };

const asset = (over: Partial<GuardAsset> = {}): GuardAsset => ({
  id: 'asset-m1',
  siteId: 'site-1',
  kind: 'meter',
  modelId: 'voltis-em-340',
  name: 'M-1',
  status: 'active',
  firmware: null,
  config,
  configVersion: 3,
  deployedVersion: 3,
  ...over,
});

const device = (state: DeviceState, over: Partial<GuardDevice> = {}): GuardDevice => ({
  id: 'dev-1',
  orgId: ORG,
  serial: 'SN-1',
  modelId: 'voltis-em-340',
  state,
  assetId: state === 'in_stock' ? null : 'asset-m1',
  ...over,
});

/** Facts under which every guard of every transition passes for a device in `state`. */
const healthy = (state: DeviceState, over: Partial<TransitionFacts> = {}): TransitionFacts => ({
  device: device(state),
  asset: asset(),
  siteOrgId: ORG,
  slotHolder: null,
  reported: { version: 3, hash: configHash(config) },
  runningDeployment: null,
  dependents: [],
  ...over,
});

const codes = (t: Transition, facts: TransitionFacts) => checkTransition(t, facts).map((v) => v.code);

describe('the state machine', () => {
  it('allows each transition from its source states only', () => {
    for (const [t, spec] of Object.entries(TRANSITIONS) as Array<[Transition, (typeof TRANSITIONS)[Transition]]>) {
      for (const state of DEVICE_STATES) {
        const allowed = !codes(t, healthy(state)).includes('TRANSITION_NOT_ALLOWED');
        expect({ t, state, allowed }).toEqual({ t, state, allowed: spec.from.includes(state) });
      }
    }
  });

  it('refuses commissioning a device still in stock, naming the states it is possible from', () => {
    const [v] = checkTransition('commission', healthy('in_stock', { asset: undefined }));
    expect(v).toMatchObject({ rule: 'lifecycle-guard', code: 'TRANSITION_NOT_ALLOWED', severity: 'error' });
    expect(v.message).toContain('installed');
  });
});

describe('install', () => {
  it('is allowed on a free, in-service asset of the same model in the same organisation', () => {
    expect(checkTransition('install', healthy('in_stock'))).toEqual([]);
  });

  it('is refused when another device fills the slot', () => {
    const v = checkTransition('install', healthy('in_stock', { slotHolder: { id: 'dev-2', serial: 'SN-2' } }));
    expect(v).toEqual([expect.objectContaining({ code: 'SLOT_TAKEN', assetIds: ['asset-m1'] })]);
    expect(v[0].message).toContain('SN-2');
  });

  it('is refused on an asset of another model', () => {
    expect(codes('install', healthy('in_stock', { asset: asset({ modelId: 'voltis-em-110' }) }))).toEqual(['MODEL_MISMATCH']);
  });

  it('is refused on a retired asset', () => {
    expect(codes('install', healthy('in_stock', { asset: asset({ status: 'retired' }) }))).toEqual(['ASSET_RETIRED']);
  });

  it('is refused on an asset of another organisation', () => {
    expect(codes('install', healthy('in_stock', { siteOrgId: 'org-2' }))).toEqual(['ORG_MISMATCH']);
  });

  it('is refused on an asset that does not exist', () => {
    const v = checkTransition('install', healthy('in_stock', { asset: null, targetAssetId: 'asset-gone' }));
    expect(v).toEqual([expect.objectContaining({ code: 'ASSET_NOT_FOUND', assetIds: ['asset-gone'] })]);
  });

  it('reports every failing guard at once, not the first', () => {
    const facts = healthy('active', { asset: asset({ modelId: 'voltis-em-110', status: 'retired' }), slotHolder: { id: 'dev-2', serial: 'SN-2' } });
    expect(codes('install', facts).sort()).toEqual(['ASSET_RETIRED', 'MODEL_MISMATCH', 'SLOT_TAKEN', 'TRANSITION_NOT_ALLOWED']);
  });

  it('does not need its configuration deployed (that is what commissioning checks)', () => {
    expect(codes('install', healthy('in_stock', { asset: asset({ deployedVersion: null }), reported: null }))).toEqual([]);
  });
});

describe('commission, activate and end of maintenance', () => {
  for (const [t, state] of [['commission', 'installed'], ['activate', 'commissioned'], ['end_maintenance', 'maintenance']] as Array<[Transition, DeviceState]>) {
    it(`${t} is allowed when the desired configuration is deployed and reported back unchanged`, () => {
      expect(checkTransition(t, healthy(state))).toEqual([]);
    });

    it(`${t} is refused while the desired version is not the deployed one`, () => {
      expect(codes(t, healthy(state, { asset: asset({ deployedVersion: 2 }) }))).toEqual(['CONFIG_NOT_DEPLOYED']);
    });

    it(`${t} is refused when the device reports another version or content`, () => {
      expect(codes(t, healthy(state, { reported: { version: 2, hash: configHash(config) } }))).toEqual(['REPORTED_DIFFERS']);
      expect(codes(t, healthy(state, { reported: { version: 3, hash: configHash({ ...config, unitId: 6 }) } }))).toEqual(['REPORTED_DIFFERS']);
    });
  }

  it('commission is refused when nothing was deployed nor reported, with both reasons', () => {
    const v = checkTransition('commission', healthy('installed', { asset: asset({ deployedVersion: null }), reported: null }));
    expect(v.map((x) => x.code)).toEqual(['CONFIG_NOT_DEPLOYED', 'REPORTED_DIFFERS']);
    expect(v.every((x) => x.assetIds[0] === 'asset-m1')).toBe(true);
  });

  it('commission is refused while a deployment to the asset is still running', () => {
    expect(codes('commission', healthy('installed', { runningDeployment: 'dep-1' }))).toEqual(['CONFIG_NOT_DEPLOYED']);
  });

  it('commission is refused when the version was acknowledged only before the device was installed (by the device there then)', () => {
    const v = checkTransition('commission', healthy('installed', { ackedSinceInstall: false }));
    expect(v).toEqual([expect.objectContaining({ code: 'CONFIG_NOT_DEPLOYED', message: expect.stringMatching(/since Device SN-\S+ was installed/) })]);
    expect(codes('commission', healthy('installed', { ackedSinceInstall: true }))).toEqual([]);
    // Bringing a commissioned device into service again does not ask: commissioning did.
    expect(codes('activate', healthy('commissioned', { ackedSinceInstall: false }))).toEqual([]);
  });

  it('commission is refused when the asset has been retired or deleted meanwhile', () => {
    expect(codes('commission', healthy('installed', { asset: asset({ status: 'retired' }) }))).toEqual(['ASSET_RETIRED']);
    expect(codes('commission', healthy('installed', { asset: null }))).toEqual(['ASSET_NOT_FOUND']);
  });
});

describe('a device under a gateway', () => {
  const gatewayDevice = (state: DeviceState) => ({ serial: 'SN-GW', state, assetId: 'asset-gw', assetName: 'GW-1' });

  for (const [t, state] of [
    ['activate', 'commissioned'],
    ['end_maintenance', 'maintenance'],
  ] as const) {
    it(`${t} is refused while the gateway's device is not active, naming the gateway`, () => {
      for (const gw of ['installed', 'commissioned', 'maintenance', 'faulty'] as const) {
        const v = checkTransition(t, healthy(state, { gatewayDevice: gatewayDevice(gw) }));
        expect(v).toEqual([expect.objectContaining({ code: 'GATEWAY_NOT_ACTIVE', assetIds: ['asset-m1', 'asset-gw'] })]);
      }
    });

    it(`${t} is refused when the gateway's device has left and none fills its slot`, () => {
      const v = checkTransition(t, healthy(state, { gatewayDevice: { serial: null, state: 'empty', assetId: 'asset-gw', assetName: 'GW-1' } }));
      expect(v).toEqual([expect.objectContaining({ code: 'GATEWAY_NOT_ACTIVE', message: expect.stringContaining('whose device has left') })]);
    });

    it(`${t} is allowed under an active gateway, or one whose device is not tracked`, () => {
      expect(checkTransition(t, healthy(state, { gatewayDevice: gatewayDevice('active') }))).toEqual([]);
      expect(checkTransition(t, healthy(state, { gatewayDevice: null }))).toEqual([]);
    });
  }

  it('does not stop a commission, a maintenance or a fault report', () => {
    expect(checkTransition('commission', healthy('installed', { gatewayDevice: gatewayDevice('maintenance') }))).toEqual([]);
    expect(checkTransition('start_maintenance', healthy('active', { gatewayDevice: gatewayDevice('maintenance') }))).toEqual([]);
    expect(checkTransition('report_fault', healthy('active', { gatewayDevice: gatewayDevice('faulty') }))).toEqual([]);
  });
});

describe('a gateway leaving service', () => {
  const gateway = asset({ id: 'asset-gw', kind: 'gateway', modelId: 'nexa-gw-200', name: 'GW-1' });
  const gwDevice = (state: DeviceState) => device(state, { modelId: 'nexa-gw-200', assetId: 'asset-gw' });
  const dependent = (state: DeviceState, n = 1): Dependent => ({ deviceId: `dev-m${n}`, serial: `SN-M${n}`, state, assetId: `asset-m${n}`, assetName: `M-${n}` });
  const facts = (state: DeviceState, dependents: Dependent[]) => healthy(state, { device: gwDevice(state), asset: gateway, dependents });

  it('is refused for decommission while devices under it are active, in maintenance or commissioned, naming their assets', () => {
    const v = checkTransition('decommission', facts('active', [dependent('active', 1), dependent('maintenance', 2), dependent('installed', 3), dependent('commissioned', 4)]));
    expect(v).toEqual([expect.objectContaining({ code: 'DEPENDENTS_ACTIVE', assetIds: ['asset-gw', 'asset-m1', 'asset-m2', 'asset-m4'] })]);
  });

  it('is refused for maintenance while devices under it are active, not when they are in maintenance themselves', () => {
    expect(codes('start_maintenance', facts('active', [dependent('active')]))).toEqual(['DEPENDENTS_ACTIVE']);
    expect(codes('start_maintenance', facts('active', [dependent('maintenance')]))).toEqual([]);
  });

  it('is allowed once no device under it is in service or about to be', () => {
    expect(checkTransition('decommission', facts('active', [dependent('installed'), dependent('decommissioned', 2)]))).toEqual([]);
    expect(checkTransition('start_maintenance', facts('active', [dependent('commissioned')]))).toEqual([]);
  });

  it('does not block a fault report: a fault is a fact', () => {
    expect(checkTransition('report_fault', facts('active', [dependent('active')]))).toEqual([]);
  });

  it('applies to gateways only', () => {
    expect(checkTransition('decommission', healthy('active', { dependents: [dependent('active')] }))).toEqual([]);
  });
});

describe('judgeTransitions', () => {
  it('lists every transition with its verdict and reasons', () => {
    const verdicts = judgeTransitions(healthy('installed', { reported: null }));
    expect(verdicts.map((v) => v.transition)).toEqual(Object.keys(TRANSITIONS));
    const byName = Object.fromEntries(verdicts.map((v) => [v.transition, v]));
    expect(byName.commission).toMatchObject({ allowed: false, to: 'commissioned', violations: [expect.objectContaining({ code: 'REPORTED_DIFFERS' })] });
    expect(byName.report_fault).toMatchObject({ allowed: true, violations: [] });
    expect(byName.install).toMatchObject({ allowed: false, requires: [] });
  });

  it('judges an install without a target asset on the state alone and says it needs one', () => {
    const install = judgeTransitions(healthy('in_stock', { asset: undefined })).find((v) => v.transition === 'install');
    expect(install).toMatchObject({ allowed: true, requires: ['assetId'] });
  });
});

describe('checkReplacement', () => {
  const base = () => ({ old: device('active'), replacement: device('in_stock', { id: 'dev-2', serial: 'SN-2' }), asset: asset(), siteOrgId: ORG, slotHolder: null });

  it('accepts a device in stock of the same model for an active one', () => {
    expect(checkReplacement(base())).toEqual([]);
  });

  it('accepts replacing a faulty device still at its asset', () => {
    expect(checkReplacement({ ...base(), old: device('faulty') })).toEqual([]);
  });

  it('refuses a replacement of another model, once', () => {
    const v = checkReplacement({ ...base(), replacement: device('in_stock', { id: 'dev-2', modelId: 'voltis-em-110' }) });
    expect(v.map((x) => x.code)).toEqual(['MODEL_MISMATCH']);
  });

  it('refuses a replacement that is not in stock, and an old device at no asset', () => {
    const v = checkReplacement({ ...base(), old: device('decommissioned', { assetId: null }), replacement: device('active', { id: 'dev-2', assetId: 'asset-x' }) });
    expect(v.map((x) => x.code)).toEqual(['TRANSITION_NOT_ALLOWED', 'TRANSITION_NOT_ALLOWED']);
  });

  it('refuses when a third device has meanwhile filled the faulty device’s slot', () => {
    const v = checkReplacement({ ...base(), old: device('faulty'), slotHolder: { id: 'dev-3', serial: 'SN-3' } });
    expect(v.map((x) => x.code)).toEqual(['SLOT_TAKEN']);
  });

  it('refuses at a retired or vanished asset', () => {
    expect(checkReplacement({ ...base(), asset: asset({ status: 'retired' }) }).map((x) => x.code)).toEqual(['ASSET_RETIRED']);
    expect(checkReplacement({ ...base(), asset: null }).map((x) => x.code)).toEqual(['ASSET_NOT_FOUND']);
  });
});
