import type { Claim } from '../graph/graph-index.ts';
import { wiredChannel } from './lib/io-channels.ts';
import { claimHolder, label } from './lib/io-describe.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'channel-single-sensor';

export const channelSingleSensor: Rule = {
  id: RULE,
  title: 'One sensor per point channel',
  description:
    "A controller's point channel (an analog or digital input or output) is one pair of terminals and reads or drives " +
    'exactly one device: two transmitters on one 4–20 mA input add their currents, two probes on one resistance input ' +
    'read as one wrong value. A channel therefore holds at most one sensor, counting sensors whose desired placement ' +
    'is on it and sensors whose device still runs a deployed configuration placing it there (the sensor stays wired ' +
    'to the old channel until the move is acknowledged). The check runs on the channels of the changed sensors.',
  codes: ['CHANNEL_TAKEN'],
  severity: 'error',
  check(ctx) {
    const out: Violation[] = [];
    const reported = new Set<string>();
    for (const id of ctx.touched.assets) {
      const sensor = ctx.candidate.assets.get(id);
      const wired = sensor && wiredChannel(ctx, sensor);
      if (!sensor || !wired) continue;
      const { controller, port } = wired;
      const holders = new Map<string, Claim>();
      for (const claim of ctx.index.claimsOnPort(controller.id, port.name)) {
        if (claim.asset.id === id) continue;
        const seen = holders.get(claim.asset.id);
        if (!seen || (seen.source === 'deployed' && claim.source === 'desired')) holders.set(claim.asset.id, claim);
      }
      for (const claim of holders.values()) {
        const key = `${[id, claim.asset.id].sort().join('|')}|${controller.id}|${port.name}`;
        if (reported.has(key)) continue;
        reported.add(key);
        out.push({
          rule: RULE,
          code: 'CHANNEL_TAKEN',
          message:
            `${label(sensor)} is wired to channel ${port.name} of ${label(controller)}, which is ${claimHolder(claim)}. ` +
            `A channel reads one sensor: wire ${sensor.name} to a free channel${freeChannels(ctx, controller.id, controller.modelId, port.type)}.`,
          assetIds: [id, claim.asset.id],
          severity: 'error',
        });
      }
    }
    return out;
  },
};

/** Names up to three channels of the same type with no claim at all, to make the fix concrete. */
function freeChannels(ctx: RuleContext, controllerId: string, modelId: string, type: string): string {
  const free = (ctx.catalog.get(modelId)?.ports ?? [])
    .filter((p) => p.type === type && ctx.index.claimsOnPort(controllerId, p.name).length === 0)
    .map((p) => p.name);
  if (free.length === 0) return ` (none of type ${type} is free on this controller)`;
  return ` (free: ${free.slice(0, 3).join(', ')}${free.length > 3 ? ', …' : ''})`;
}
