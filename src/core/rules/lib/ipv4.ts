/**
 * Just enough IPv4 arithmetic for the network rules: parse dotted quads and CIDR blocks into
 * unsigned 32-bit numbers, and say what role an address plays in a subnet.
 *
 * @example
 *   const net = parseCidr('10.20.0.0/24')!;
 *   addressRole(net, parseIpv4('10.20.0.255')!); // 'broadcast'
 */

export interface Ipv4Net {
  /** Network address (host bits cleared), as an unsigned 32-bit number. */
  network: number;
  prefix: number;
  /** Last address of the block. */
  last: number;
}

export type AddressRole = 'outside' | 'network' | 'broadcast' | 'host';

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/**
 * Parses a dotted quad. Leading zeros are refused: some stacks read `010` as octal (8), so an
 * address written that way does not say which host it means.
 */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Parses `a.b.c.d/n`; host bits set in the address are cleared (`10.20.0.7/24` → 10.20.0.0/24). */
export function parseCidr(text: string): Ipv4Net | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const address = parseIpv4(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (address === null || !/^(0|[1-9][0-9]?)$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > 32) return null;
  const size = 2 ** (32 - prefix);
  const network = address - (address % size);
  return { network, prefix, last: network + size - 1 };
}

export function formatCidr(net: Ipv4Net): string {
  return `${formatIpv4(net.network)}/${net.prefix}`;
}

export function cidrContains(net: Ipv4Net, address: number): boolean {
  return address >= net.network && address <= net.last;
}

/**
 * The role of an address in a subnet. On a /31 (RFC 3021, point-to-point) both addresses are
 * hosts and there is no network or broadcast address; a /32 is a single host.
 */
export function addressRole(net: Ipv4Net, address: number): AddressRole {
  if (!cidrContains(net, address)) return 'outside';
  if (net.prefix >= 31) return 'host';
  if (address === net.network) return 'network';
  if (address === net.last) return 'broadcast';
  return 'host';
}

/** First and last host address of the subnet, for messages ("10.20.0.1–10.20.0.254"). */
export function hostRange(net: Ipv4Net): { first: number; last: number } {
  if (net.prefix >= 31) return { first: net.network, last: net.last };
  return { first: net.network + 1, last: net.last - 1 };
}
