import type { Asset } from '../graph/types.ts';
import { label } from './lib/io-describe.ts';
import { ipOf } from './lib/io-config.ts';
import { addressRole, formatCidr, formatIpv4, hostRange, parseCidr, parseIpv4, type Ipv4Net } from './lib/ipv4.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'ip-in-subnet';

/** Assets to check: the touched ones, or every asset of the site when its network changed. */
function assetsInScope(ctx: RuleContext): Asset[] {
  const was = ctx.before.site.network;
  const now = ctx.candidate.site.network;
  const networkChanged = was.subnet !== now.subnet || was.router !== now.router;
  if (networkChanged) return [...ctx.candidate.assets.values()];
  return [...ctx.touched.assets].flatMap((id) => ctx.candidate.assets.get(id) ?? []);
}

function checkAddress(asset: Asset, ip: string, net: Ipv4Net, router: number | null): Violation | undefined {
  const subnet = formatCidr(net);
  const { first, last } = hostRange(net);
  const usable = `${formatIpv4(first)}–${formatIpv4(last)}`;
  const base = { rule: RULE, assetIds: [asset.id], path: '/ip', severity: 'error' as const };
  const address = parseIpv4(ip);
  // The schema checks the format; an address that still does not parse cannot be on this subnet.
  const role = address === null ? 'outside' : addressRole(net, address);
  switch (role) {
    case 'outside':
      return {
        ...base,
        code: 'IP_OUTSIDE_SUBNET',
        message: `${label(asset)} has IP ${ip}, outside the site subnet ${subnet}; the device would be unreachable without a route. Choose a host address in ${usable}.`,
      };
    case 'network':
      return {
        ...base,
        code: 'IP_IS_NETWORK_ADDRESS',
        message: `${label(asset)} has IP ${ip}, the network address of ${subnet}, which no host may use. Choose a host address in ${usable}.`,
      };
    case 'broadcast':
      return {
        ...base,
        code: 'IP_IS_BROADCAST_ADDRESS',
        message: `${label(asset)} has IP ${ip}, the broadcast address of ${subnet}, which no host may use. Choose a host address in ${usable}.`,
      };
    case 'host':
      if (address !== router) return undefined;
      return {
        ...base,
        code: 'IP_IS_ROUTER',
        message: `${label(asset)} has IP ${ip}, the address of the site's router; two hosts on one address cut the site off its default gateway. Choose a host address in ${usable} other than the router's.`,
      };
  }
}

/**
 * A router moved onto an address a device still runs: an older configuration, acknowledged and
 * not yet replaced by the desired one, whose IP is the router's new address.
 */
function routerOnDeployedAddress(ctx: RuleContext, router: number): Violation[] {
  const out: Violation[] = [];
  for (const asset of ctx.candidate.assets.values()) {
    const d = asset.deployed;
    if (!d || d.version === asset.configVersion) continue;
    const ip = ipOf(d.config);
    // The same address desired as well is reported once, by checkAddress.
    if (ip === undefined || parseIpv4(ip) !== router || ipOf(asset.config) === ip) continue;
    out.push({
      rule: RULE,
      code: 'IP_IS_ROUTER',
      message:
        `The site's router would take IP ${ip}, which ${label(asset)} still runs (version ${d.version}, deployed; its desired configuration is not yet); ` +
        'two hosts on one address cut the site off its default gateway. Deploy its current configuration first, or choose another router address.',
      assetIds: [asset.id],
      path: '/ip',
      severity: 'error',
    });
  }
  return out;
}

export const ipInSubnet: Rule = {
  id: RULE,
  title: 'IP addresses inside the site subnet',
  description:
    "Every IP address in an asset's configuration (a gateway's address, a controller or meter on IP) must be a usable host " +
    "address of the site's subnet: inside the CIDR block, neither its network address (all host bits 0) nor its broadcast " +
    'address (all host bits 1), and not the address of the site router. A device outside the subnet cannot reach its ' +
    'gateway or the broker without a route that does not exist on site, and a device on the router\'s address takes the ' +
    'site off the network. As in RFC 3021, a /31 has no network or broadcast address (both addresses are hosts) and a /32 ' +
    'is a single host. The check runs on the changed assets, and on every asset of the site when the site network changes; ' +
    'a router moved onto an address a device still runs (an acknowledged older configuration, not yet replaced by the ' +
    'desired one) is refused too.',
  codes: ['IP_OUTSIDE_SUBNET', 'IP_IS_NETWORK_ADDRESS', 'IP_IS_BROADCAST_ADDRESS', 'IP_IS_ROUTER'],
  severity: 'error',
  check(ctx) {
    const network = ctx.candidate.site.network;
    const net = parseCidr(network.subnet);
    // A site without a parseable subnet is refused by the site schema; nothing to measure against here.
    if (!net) return [];
    const router = parseIpv4(network.router);
    const out: Violation[] = [];
    for (const asset of assetsInScope(ctx)) {
      const ip = ipOf(asset.config);
      if (ip === undefined) continue;
      const violation = checkAddress(asset, ip, net, router);
      if (violation) out.push(violation);
    }
    if (router !== null && ctx.before.site.network.router !== network.router) out.push(...routerOnDeployedAddress(ctx, router));
    return out;
  },
};
