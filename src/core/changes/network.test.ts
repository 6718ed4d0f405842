import { describe, expect, it } from 'vitest';
import { networkProblem } from './network.ts';

describe('a site network', () => {
  it('is usable with a router on a host address of its subnet', () => {
    expect(networkProblem({ subnet: '10.20.0.0/24', router: '10.20.0.1' })).toBeUndefined();
    expect(networkProblem({ subnet: '10.20.0.0/24', router: '10.20.0.254' })).toBeUndefined();
    expect(networkProblem({ subnet: '10.20.0.0/30', router: '10.20.0.2' })).toBeUndefined();
  });

  it("refuses a router on the subnet's network or broadcast address, which no host can have", () => {
    expect(networkProblem({ subnet: '10.98.0.0/24', router: '10.98.0.0' })).toEqual({
      field: 'router',
      message: 'router 10.98.0.0 is the network address of subnet 10.98.0.0/24, not a host address',
    });
    expect(networkProblem({ subnet: '10.16.2.0/24', router: '10.16.2.255' })).toEqual({
      field: 'router',
      message: 'router 10.16.2.255 is the broadcast address of subnet 10.16.2.0/24, not a host address',
    });
  });

  it('refuses a router outside the subnet, and a subnet with host bits or a prefix out of range', () => {
    expect(networkProblem({ subnet: '10.20.0.0/24', router: '10.30.0.1' })?.field).toBe('router');
    expect(networkProblem({ subnet: '10.20.0.1/24', router: '10.20.0.2' })?.field).toBe('subnet');
    expect(networkProblem({ subnet: '10.20.0.0/31', router: '10.20.0.1' })?.field).toBe('subnet');
  });
});
