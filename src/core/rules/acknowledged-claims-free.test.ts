import { describe, expect, it } from 'vitest';
import { SiteBuilder } from '../testing/site-builder.ts';
import { acknowledgedClaimsFree } from './acknowledged-claims-free.ts';

/** Meter A moved from unit id 5 to 6 (version 2, not yet on the device); meter B took 5. */
function movedAndRetaken() {
  const b = new SiteBuilder();
  const gw = b.gateway();
  const a = b.meter(gw, 'rs485-1', { name: 'A', config: { unitId: 6 } });
  const m = b.meter(gw, 'rs485-1', { name: 'B', config: { unitId: 5 } });
  const asset = b.asset(a);
  asset.configVersion = 2;
  return { b, a, m, asset };
}

describe('acknowledged-claims-free', () => {
  it('refuses an acknowledgement of an older version whose unit id another meter holds now', () => {
    const { b, a, m, asset } = movedAndRetaken();
    const ctx = b.change((g) => {
      g.assets.get(a)!.deployed = { version: 1, parentId: asset.parentId, port: asset.port, config: { ...asset.config, unitId: 5 } };
    }, [a]);
    const v = acknowledgedClaimsFree.check(ctx);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ code: 'DEPLOYED_UNIT_ID_CONFLICT', severity: 'error', assetIds: [a, m], path: '/unitId' });
  });

  it('accepts an acknowledgement of an older version whose unit id is still free', () => {
    const { b, a, asset } = movedAndRetaken();
    const ctx = b.change((g) => {
      g.assets.get(a)!.deployed = { version: 1, parentId: asset.parentId, port: asset.port, config: { ...asset.config, unitId: 7 } };
    }, [a]);
    expect(acknowledgedClaimsFree.check(ctx)).toEqual([]);
  });

  it('accepts an acknowledgement of the desired version (other rules checked its claims when it was written)', () => {
    const { b, a, asset } = movedAndRetaken();
    const ctx = b.change((g) => {
      g.assets.get(a)!.deployed = { version: 2, parentId: asset.parentId, port: asset.port, config: asset.config };
    }, [a]);
    expect(acknowledgedClaimsFree.check(ctx)).toEqual([]);
  });

  it('refuses an old IP that another gateway took meanwhile', () => {
    const b = new SiteBuilder();
    const g1 = b.gateway({ name: 'G1', config: { ip: '10.20.0.31' } });
    const g2 = b.gateway({ name: 'G2', config: { ip: '10.20.0.30' } });
    b.asset(g1).configVersion = 2;
    const ctx = b.change((g) => {
      const x = g.assets.get(g1)!;
      x.deployed = { version: 1, parentId: null, port: null, config: { ...x.config, ip: '10.20.0.30' } };
    }, [g1]);
    expect(acknowledgedClaimsFree.check(ctx)).toMatchObject([{ code: 'DEPLOYED_IP_CONFLICT', assetIds: [g1, g2] }]);
  });

  it('refuses an old channel that another sensor is wired to now', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1', { config: { channels: { 'ui-1': { signal: '4-20mA' }, 'ui-2': { signal: '4-20mA' } } } });
    const s1 = b.sensor(c, 'ui-2');
    const s2 = b.sensor(c, 'ui-1');
    b.asset(s1).configVersion = 2;
    const ctx = b.change((g) => {
      const x = g.assets.get(s1)!;
      x.deployed = { version: 1, parentId: c, port: 'ui-1', config: x.config };
    }, [s1]);
    expect(acknowledgedClaimsFree.check(ctx)).toMatchObject([{ code: 'DEPLOYED_CHANNEL_CONFLICT', assetIds: [s1, s2] }]);
  });

  it('ignores a deployed version that did not change in this write', () => {
    const { b, a, asset } = movedAndRetaken();
    asset.deployed = { version: 1, parentId: asset.parentId, port: asset.port, config: { ...asset.config, unitId: 5 } };
    const ctx = b.change((g) => {
      g.assets.get(a)!.name = 'A renamed';
    }, [a]);
    expect(acknowledgedClaimsFree.check(ctx)).toEqual([]);
  });
});
