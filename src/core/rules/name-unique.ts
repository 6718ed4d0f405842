import type { AssetKeying } from '../graph/graph-index.ts';
import type { Asset } from '../graph/types.ts';
import { label } from './lib/io-describe.ts';
import { keptKeys } from './lib/kept-key.ts';
import type { Rule, Violation } from './types.ts';

const RULE = 'name-unique';

/** Names compare the way people read them: trimmed, Unicode-normalised, case-insensitive. */
export function nameKey(name: string): string {
  return name.normalize('NFKC').trim().toLowerCase();
}

/** {@link nameKey} of an asset's name, normalised once per asset object and name. */
const assetNameKey = keptKeys((asset) => asset.name, nameKey);
/** The site's assets by name key, kept in the graph index from one write to the next. */
const NAMES: AssetKeying<string> = { keyOf: assetNameKey };

export const nameUnique: Rule = {
  id: RULE,
  title: 'Asset names unique in a site',
  description:
    'Engineers find equipment by name — on drawings, labels, work orders and alarm messages — so two assets of a ' +
    'site may not share one: "M-2" and "m-2 " on the same site send a technician to the wrong panel. Names compare ' +
    'case-insensitively after trimming surrounding spaces. The check runs on the names of the changed assets ' +
    'against the rest of the site; other sites may reuse names.',
  codes: ['NAME_TAKEN'],
  severity: 'error',
  check(ctx) {
    const touched = [...ctx.touched.assets]
      .map((id) => ctx.candidate.assets.get(id))
      .filter((a): a is Asset => a !== undefined);
    if (touched.length === 0) return [];
    const sharing = touched.map((asset) => ctx.index.withKey(NAMES, assetNameKey(asset)));
    const out: Violation[] = [];
    const reported = new Set<string>();
    for (let t = 0; t < touched.length; t++) {
      const asset = touched[t];
      for (const other of sharing[t]) {
        const pair = [asset.id, other.id].sort().join('|');
        if (other.id === asset.id || reported.has(pair)) continue;
        reported.add(pair);
        out.push({
          rule: RULE,
          code: 'NAME_TAKEN',
          message:
            `${label(asset)} is named "${asset.name}", but ${label(other)} in this site is already named "${other.name}". ` +
            'Names must be unique in a site (ignoring case): choose another name.',
          assetIds: [asset.id, other.id],
          severity: 'error',
        });
      }
    }
    return out;
  },
};
