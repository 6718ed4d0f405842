import type { AssetKeying } from '../graph/graph-index.ts';
import type { Asset } from '../graph/types.ts';
import { label } from './lib/io-describe.ts';
import { keptKeys } from './lib/kept-key.ts';
import type { Rule, Violation } from './types.ts';

const RULE = 'serial-unique';

/**
 * Serials are read off nameplates and typed or scanned by people: `sn-0042 ` and `SN-0042` are
 * the same device, and no vendor issues two serials that differ only in case or spacing. So
 * serials compare trimmed, Unicode-normalised and case-insensitively; a blank serial is none.
 */
export function serialKey(serial: string | null): string | undefined {
  const key = serial?.normalize('NFKC').trim().toUpperCase();
  return key ? key : undefined;
}

/** {@link serialKey} of an asset's serial, normalised once per asset object and serial. */
const assetSerialKey = keptKeys((asset) => asset.serial, serialKey);
/** The site's assets by serial key, kept in the graph index from one write to the next. */
const SERIALS: AssetKeying<string> = { keyOf: assetSerialKey };

export const serialUnique: Rule = {
  id: RULE,
  title: 'Serial numbers unique fleet-wide',
  description:
    'A serial number identifies one physical device, so no two assets may hold the same one — in the same site or in ' +
    'any other site of the fleet. Two records for one device mean its firmware, deployments and drift are tracked ' +
    'twice, and a device swap recorded on one of them leaves the other pointing at hardware that is elsewhere. ' +
    'Serials compare ignoring case (they are read off nameplates and typed by people; `sn-0042` is `SN-0042`); the ' +
    'API takes letters, digits and `._/-` only, so a serial with spaces is refused before it gets here, and one ' +
    'stored otherwise compares after trimming them. An empty serial counts as none. The check runs on the serials of the ' +
    'changed assets: against the rest of the site, and against the owners in other sites that the write path looks ' +
    'up for those serials. A holder in another organisation\'s site is not named: the write learns that the serial is ' +
    'taken, not by which asset.',
  codes: ['SERIAL_TAKEN'],
  severity: 'error',
  check(ctx) {
    const touched = [...ctx.touched.assets]
      .map((id) => ctx.candidate.assets.get(id))
      .filter((a): a is Asset => a !== undefined && assetSerialKey(a) !== undefined);
    if (touched.length === 0) return [];
    const keys = touched.map((a) => assetSerialKey(a) as string);
    const sharing = keys.map((key) => ctx.index.withKey(SERIALS, key));
    const elsewhere = new Map<string, string | null>();
    for (const [serial, owner] of ctx.fleet.serialOwners) {
      const key = serialKey(serial);
      if (key !== undefined) elsewhere.set(key, owner);
    }
    const out: Violation[] = [];
    const reported = new Set<string>();
    for (let t = 0; t < touched.length; t++) {
      const asset = touched[t];
      const key = keys[t];
      for (const other of sharing[t]) {
        const pair = [asset.id, other.id].sort().join('|');
        if (other.id === asset.id || reported.has(pair)) continue;
        reported.add(pair);
        out.push({
          rule: RULE,
          code: 'SERIAL_TAKEN',
          message:
            `${label(asset)} is given serial ${asset.serial}, which ${label(other)} in this site already holds` +
            `${other.serial === asset.serial ? '' : ` (as ${other.serial})`}. A serial identifies one device: ` +
            'correct the serial read off the nameplate, or remove the duplicate record.',
          assetIds: [asset.id, other.id],
          severity: 'error',
        });
      }
      const owner = elsewhere.get(key);
      if (owner === null) {
        out.push({
          rule: RULE,
          code: 'SERIAL_TAKEN',
          message:
            `${label(asset)} is given serial ${asset.serial}, which a device of another organisation already holds. ` +
            'A serial identifies one device: correct the serial read off the nameplate.',
          assetIds: [asset.id],
          severity: 'error',
        });
        continue;
      }
      // An owner inside this site is the in-site case above (or the asset itself, e.g. moved here).
      if (owner === undefined || owner === asset.id || ctx.candidate.assets.has(owner)) continue;
      out.push({
        rule: RULE,
        code: 'SERIAL_TAKEN',
        message:
          `${label(asset)} is given serial ${asset.serial}, which asset ${owner} in another site already holds. ` +
          'A serial identifies one device: correct the serial, or retire and delete the other record if the device moved here.',
        assetIds: [asset.id, owner],
        severity: 'error',
      });
    }
    return out;
  },
};
