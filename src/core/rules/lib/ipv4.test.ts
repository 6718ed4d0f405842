import { describe, it, expect } from 'vitest';
import { addressRole, cidrContains, formatCidr, formatIpv4, hostRange, parseCidr, parseIpv4 } from './ipv4.ts';

const net = (cidr: string) => {
  const n = parseCidr(cidr);
  if (!n) throw new Error(`bad cidr ${cidr}`);
  return n;
};
const ip = (s: string) => {
  const n = parseIpv4(s);
  if (n === null) throw new Error(`bad ip ${s}`);
  return n;
};

describe('ipv4', () => {
  it('parses dotted quads into unsigned 32-bit numbers and formats them back', () => {
    expect(parseIpv4('0.0.0.0')).toBe(0);
    expect(parseIpv4('10.20.0.1')).toBe(0x0a140001);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    expect(formatIpv4(0xffffffff)).toBe('255.255.255.255');
    expect(formatIpv4(ip('192.168.1.10'))).toBe('192.168.1.10');
  });

  it('refuses malformed addresses, out-of-range octets and ambiguous leading zeros', () => {
    for (const bad of ['', '10.20.0', '10.20.0.1.2', '10.20.0.256', '10.20.0.-1', '10.020.0.1', '10.20.0.a', ' 10.20.0.1', '10..0.1']) {
      expect(parseIpv4(bad), bad).toBeNull();
    }
  });

  it('parses CIDR blocks and clears host bits of the address', () => {
    expect(formatCidr(net('10.20.0.0/24'))).toBe('10.20.0.0/24');
    expect(formatCidr(net('10.20.0.77/24'))).toBe('10.20.0.0/24');
    expect(net('0.0.0.0/0').last).toBe(0xffffffff);
    expect(formatIpv4(net('172.16.4.0/22').last)).toBe('172.16.7.255');
    for (const bad of ['10.20.0.0', '10.20.0.0/33', '10.20.0.0/', '10.20.0.0/024', '10.20.0.0/x', '10.20.0/24']) {
      expect(parseCidr(bad), bad).toBeNull();
    }
  });

  it('says whether a block contains an address, including both ends', () => {
    const n = net('10.20.0.0/24');
    expect(cidrContains(n, ip('10.20.0.0'))).toBe(true);
    expect(cidrContains(n, ip('10.20.0.255'))).toBe(true);
    expect(cidrContains(n, ip('10.20.1.0'))).toBe(false);
    expect(cidrContains(n, ip('10.19.255.255'))).toBe(false);
  });

  it('names the network, broadcast and host addresses of an ordinary subnet', () => {
    const n = net('10.20.0.0/24');
    expect(addressRole(n, ip('10.20.0.0'))).toBe('network');
    expect(addressRole(n, ip('10.20.0.255'))).toBe('broadcast');
    expect(addressRole(n, ip('10.20.0.1'))).toBe('host');
    expect(addressRole(n, ip('10.21.0.1'))).toBe('outside');
    expect(hostRange(n)).toEqual({ first: ip('10.20.0.1'), last: ip('10.20.0.254') });
  });

  it('treats both addresses of a /31 as hosts (RFC 3021) and a /32 as a single host', () => {
    const p2p = net('10.20.0.4/31');
    expect(addressRole(p2p, ip('10.20.0.4'))).toBe('host');
    expect(addressRole(p2p, ip('10.20.0.5'))).toBe('host');
    expect(addressRole(p2p, ip('10.20.0.6'))).toBe('outside');
    const single = net('10.20.0.9/32');
    expect(addressRole(single, ip('10.20.0.9'))).toBe('host');
    expect(hostRange(single)).toEqual({ first: ip('10.20.0.9'), last: ip('10.20.0.9') });
  });
});
