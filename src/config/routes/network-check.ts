import { ApiError } from '../../http/errors.ts';

/**
 * Checks a site network beyond its schema: the subnet is a real CIDR (its address is the
 * network address) and the router lies inside it. 422 with the field at fault otherwise.
 */
export function validateNetwork(net: { subnet?: string; router?: string }, at: string, partial = false): void {
  const errors: Array<{ in: 'body'; path: string; message: string }> = [];
  const parsed = net.subnet !== undefined ? parseCidr(net.subnet) : undefined;
  if (net.subnet !== undefined && !parsed) errors.push({ in: 'body', path: `${at}/subnet`, message: `"${net.subnet}" is not an IPv4 CIDR with prefix 8–30` });
  if (parsed && parsed.base !== parsed.network) {
    errors.push({ in: 'body', path: `${at}/subnet`, message: `${net.subnet} has host bits set; the network is ${ipString(parsed.network)}/${parsed.prefix}` });
  }
  const router = net.router !== undefined ? parseIp(net.router) : undefined;
  if (net.router !== undefined && router === undefined) errors.push({ in: 'body', path: `${at}/router`, message: `"${net.router}" is not an IPv4 address` });
  if (!partial && parsed && router !== undefined && ((router & parsed.mask) >>> 0) !== parsed.network) {
    errors.push({ in: 'body', path: `${at}/router`, message: `router ${net.router} is outside subnet ${net.subnet}` });
  }
  if (errors.length) throw new ApiError('VALIDATION_FAILED', 'The site network is not valid.', { extra: { errors } });
}

function parseIp(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((acc, p) => ((acc << 8) | Number(p)) >>> 0, 0);
}

function parseCidr(s: string) {
  const [ip, len] = s.split('/');
  const base = parseIp(ip ?? '');
  const prefix = Number(len);
  if (base === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) return undefined;
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  return { base, prefix, mask, network: (base & mask) >>> 0 };
}

const ipString = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
