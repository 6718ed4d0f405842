import type { Claim } from '../graph/graph-index.ts';
import { claimHolder, label } from './lib/io-describe.ts';
import { ipOf } from './lib/io-config.ts';
import type { Rule, Violation } from './types.ts';

const RULE = 'ip-unique';

export const ipUnique: Rule = {
  id: RULE,
  title: 'IP addresses unique in the site',
  description:
    "No two assets of a site may use the same IP address. An address counts as taken when another asset's desired " +
    'configuration uses it, and also while another asset\'s device still runs a deployed configuration that uses it: ' +
    'until that device acknowledges its new configuration it keeps answering on the old address, and two hosts on ' +
    'one address make ARP flip between them, so both drop off the network intermittently. The check runs on the ' +
    'addresses of the changed assets. (The router address is refused by ip-in-subnet.)',
  codes: ['IP_TAKEN'],
  severity: 'error',
  check(ctx) {
    // Most changes give no asset an address (a sensor's calibration): then no claim of the site is read.
    const addressed = [...ctx.touched.assets].some((id) => {
      const asset = ctx.candidate.assets.get(id);
      return asset !== undefined && ipOf(asset.config) !== undefined;
    });
    if (!addressed) return [];
    // The ipv4 schema format has no leading zeros, so equal strings are equal addresses.
    const byAddress = new Map<string, Claim[]>();
    for (const claim of ctx.index.claims) {
      const ip = ipOf(claim.config);
      if (ip === undefined) continue;
      const list = byAddress.get(ip);
      if (list) list.push(claim);
      else byAddress.set(ip, [claim]);
    }
    const out: Violation[] = [];
    const reported = new Set<string>();
    for (const id of ctx.touched.assets) {
      const asset = ctx.candidate.assets.get(id);
      const ip = asset && ipOf(asset.config);
      if (!asset || ip === undefined) continue;
      // One violation per other asset; its desired claim is the more telling one when both match.
      const holders = new Map<string, Claim>();
      for (const claim of byAddress.get(ip) ?? []) {
        if (claim.asset.id === id) continue;
        const seen = holders.get(claim.asset.id);
        if (!seen || (seen.source === 'deployed' && claim.source === 'desired')) holders.set(claim.asset.id, claim);
      }
      for (const claim of holders.values()) {
        const pair = [id, claim.asset.id].sort().join('|');
        if (reported.has(pair)) continue;
        reported.add(pair);
        out.push({
          rule: RULE,
          code: 'IP_TAKEN',
          message: `${label(asset)} is given IP ${ip}, which is ${claimHolder(claim)}. Choose a free address in the site subnet.`,
          assetIds: [id, claim.asset.id],
          path: '/ip',
          severity: 'error',
        });
      }
    }
    return out;
  },
};
