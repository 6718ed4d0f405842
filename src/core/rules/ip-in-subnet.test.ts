import { describe, it, expect } from 'vitest';
import { SiteBuilder } from '../testing/site-builder.ts';
import { ipInSubnet } from './ip-in-subnet.ts';

function siteWithGateway() {
  const b = new SiteBuilder();
  const gw = b.gateway({ name: 'GW-1' });
  return { b, gw };
}

const setIp = (b: SiteBuilder, id: string, ip: string) =>
  b.change((g) => {
    g.assets.get(id)!.config.ip = ip;
  }, [id]);

describe('ip-in-subnet', () => {
  it('passes a default site with a gateway, an IP controller and bus devices', () => {
    const { b, gw } = siteWithGateway();
    b.controller(gw, null, { config: { ip: '10.20.0.40' } });
    b.meter(gw, 'rs485-1');
    b.controller(gw, 'rs485-1');
    expect(ipInSubnet.check(b.whole())).toEqual([]);
  });

  it('refuses a gateway address outside the site subnet', () => {
    const { b, gw } = siteWithGateway();
    const v = ipInSubnet.check(setIp(b, gw, '10.30.0.5'));
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ rule: 'ip-in-subnet', code: 'IP_OUTSIDE_SUBNET', severity: 'error', assetIds: [gw], path: '/ip' });
    expect(v[0].message).toContain('10.20.0.0/24');
    expect(v[0].message).toContain('10.20.0.1–10.20.0.254');
  });

  it('accepts the last host address of the subnet', () => {
    const { b, gw } = siteWithGateway();
    expect(ipInSubnet.check(setIp(b, gw, '10.20.0.254'))).toEqual([]);
  });

  it('refuses the network address of the subnet', () => {
    const { b, gw } = siteWithGateway();
    const v = ipInSubnet.check(setIp(b, gw, '10.20.0.0'));
    expect(v).toEqual([expect.objectContaining({ code: 'IP_IS_NETWORK_ADDRESS', severity: 'error', assetIds: [gw], path: '/ip' })]);
  });

  it('refuses the broadcast address of the subnet', () => {
    const { b, gw } = siteWithGateway();
    const v = ipInSubnet.check(setIp(b, gw, '10.20.0.255'));
    expect(v).toEqual([expect.objectContaining({ code: 'IP_IS_BROADCAST_ADDRESS', severity: 'error', assetIds: [gw], path: '/ip' })]);
  });

  it("refuses the router's address", () => {
    const { b, gw } = siteWithGateway();
    const v = ipInSubnet.check(setIp(b, gw, '10.20.0.1'));
    expect(v).toEqual([expect.objectContaining({ code: 'IP_IS_ROUTER', severity: 'error', assetIds: [gw], path: '/ip' })]);
  });

  it('accepts the address right after the router', () => {
    const { b, gw } = siteWithGateway();
    expect(ipInSubnet.check(setIp(b, gw, '10.20.0.2'))).toEqual([]);
  });

  it('checks controllers and meters on IP and reports every bad address of the change', () => {
    const { b, gw } = siteWithGateway();
    const c = b.controller(gw, null, { config: { ip: '10.20.0.40' } });
    const m = b.meter(gw, null, { config: { ip: '10.20.0.41' } });
    const ctx = b.change((g) => {
      g.assets.get(c)!.config.ip = '192.168.1.40';
      g.assets.get(m)!.config.ip = '10.20.0.255';
    }, [c, m]);
    const v = ipInSubnet.check(ctx);
    expect(v.map((x) => [x.code, x.assetIds])).toEqual([
      ['IP_OUTSIDE_SUBNET', [c]],
      ['IP_IS_BROADCAST_ADDRESS', [m]],
    ]);
  });

  it('ignores a bad address on an asset the change does not touch', () => {
    const { b, gw } = siteWithGateway();
    b.meter(gw, null, { config: { ip: '192.168.1.40' } });
    const other = b.controller(gw, null, { config: { ip: '10.20.0.40' } });
    expect(ipInSubnet.check(setIp(b, other, '10.20.0.41'))).toEqual([]);
  });

  it('rechecks every asset of the site when the site subnet changes', () => {
    const { b, gw } = siteWithGateway();
    const c = b.controller(gw, null, { config: { ip: '10.20.0.40' } });
    b.meter(gw, 'rs485-1');
    const ctx = b.change((g) => {
      g.site.network = { subnet: '10.30.0.0/24', router: '10.30.0.1' };
    }, []);
    const v = ipInSubnet.check(ctx);
    expect(v.map((x) => [x.code, x.assetIds])).toEqual([
      ['IP_OUTSIDE_SUBNET', [gw]],
      ['IP_OUTSIDE_SUBNET', [c]],
    ]);
  });

  it('rechecks every asset when the router moves onto an address in use', () => {
    const { b, gw } = siteWithGateway();
    const ctx = b.change((g) => {
      g.site.network = { ...g.site.network, router: b.asset(gw).config.ip as string };
    }, []);
    expect(ipInSubnet.check(ctx)).toEqual([expect.objectContaining({ code: 'IP_IS_ROUTER', assetIds: [gw] })]);
  });

  it('refuses moving the router onto an address a device still runs, until the device acknowledges its new one', () => {
    const { b, gw } = siteWithGateway();
    const m = b.meter(gw, null, { name: 'M-1', config: { ip: '10.20.0.41' }, deployed: true });
    // M-1's new address is desired, not yet acknowledged: its device still answers on .41.
    const a = b.asset(m);
    a.config = { ...a.config, ip: '10.20.0.42' };
    a.configVersion += 1;
    const moveRouter = () =>
      b.change((g) => {
        g.site.network = { ...g.site.network, router: '10.20.0.41' };
      }, []);
    const v = ipInSubnet.check(moveRouter());
    expect(v).toEqual([expect.objectContaining({ code: 'IP_IS_ROUTER', assetIds: [m], path: '/ip' })]);
    expect(v[0].message).toContain('still runs (version 1, deployed');
    a.deployed = { version: a.configVersion, parentId: a.parentId, port: a.port, config: structuredClone(a.config) };
    expect(ipInSubnet.check(moveRouter())).toEqual([]);
    // An address both desired and still deployed (another field changed since) is reported once.
    a.config = { ...a.config, ip: '10.20.0.41', pollIntervalMs: 9000 };
    a.configVersion += 1;
    a.deployed = { ...a.deployed, config: { ...a.deployed.config, ip: '10.20.0.41' } };
    expect(ipInSubnet.check(moveRouter())).toEqual([expect.objectContaining({ code: 'IP_IS_ROUTER', assetIds: [m] })]);
  });

  it('accepts both addresses of a /31 point-to-point subnet except the router (RFC 3021)', () => {
    const b = new SiteBuilder({ subnet: '10.20.0.4/31', router: '10.20.0.4' });
    const gw = b.gateway({ config: { ip: '10.20.0.5' } });
    expect(ipInSubnet.check(b.whole())).toEqual([]);
    expect(ipInSubnet.check(setIp(b, gw, '10.20.0.4'))).toEqual([expect.objectContaining({ code: 'IP_IS_ROUTER' })]);
  });
});
