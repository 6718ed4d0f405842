import { addressRole, formatIpv4, parseCidr, parseIpv4 } from '../rules/lib/ipv4.ts';
import type { SiteNetwork } from '../graph/types.ts';

/**
 * What is wrong with a site network as a whole, or undefined when it is usable: the subnet is
 * an IPv4 CIDR with prefix 8–30 whose address is the network address, and the router is a host
 * address of it (inside it, neither its network nor its broadcast address). The same checks `POST /v1/sites` makes, for a network after a merge patch.
 *
 * @example
 *   networkProblem({ subnet: '10.20.0.0/24', router: '10.30.0.1' });
 *   // { field: 'router', message: 'router 10.30.0.1 is outside subnet 10.20.0.0/24' }
 */
export function networkProblem(net: SiteNetwork): { field: 'subnet' | 'router'; message: string } | undefined {
  const cidr = parseCidr(net.subnet);
  if (!cidr || cidr.prefix < 8 || cidr.prefix > 30) return { field: 'subnet', message: `"${net.subnet}" is not an IPv4 CIDR with prefix 8–30` };
  if (parseIpv4(net.subnet.slice(0, net.subnet.indexOf('/'))) !== cidr.network) {
    return { field: 'subnet', message: `${net.subnet} has host bits set; the network is ${formatIpv4(cidr.network)}/${cidr.prefix}` };
  }
  const router = parseIpv4(net.router);
  if (router === null) return { field: 'router', message: `"${net.router}" is not an IPv4 address` };
  const role = addressRole(cidr, router);
  if (role === 'outside') return { field: 'router', message: `router ${net.router} is outside subnet ${net.subnet}` };
  if (role !== 'host') return { field: 'router', message: `router ${net.router} is the ${role} address of subnet ${net.subnet}, not a host address` };
  return undefined;
}
