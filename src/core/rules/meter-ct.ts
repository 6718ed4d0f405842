import { meterCtOf, numberOf } from './lib/io-config.ts';
import { label } from './lib/io-describe.ts';
import type { Rule, Violation } from './types.ts';

const RULE = 'meter-ct';

/**
 * Above this ratio of CT primary to the circuit's rated current, even full load is under a
 * quarter of the CT's rating. IEC 61869-2 specifies metering-class accuracy at 5, 20, 100 and
 * 120 % of rated current with the permitted error growing towards the low end, and a typical
 * load sits well below the circuit's rating, so such a CT spends its life where it is least accurate.
 */
const OVERSIZE_RATIO = 4;

export const meterCt: Rule = {
  id: RULE,
  title: 'Current transformers fit the meter and the circuit',
  description:
    'An energy meter reads current through current transformers (CTs). The CT secondary configured for the meter ' +
    "(`ct.secondary`: 5 A, 1 A or 333 mV) must be one the meter model's inputs accept: a 333 mV CT on a current input " +
    'reads almost nothing, a 5 A or 1 A CT on a millivolt input runs with its secondary practically open (dangerous ' +
    'voltages, a damaged input), and a 1 A CT on a 5 A input reads a fifth of the current. The CT primary must not be ' +
    "below the circuit's rated current (`ratedCurrentA`): beyond its rating (accuracy is specified up to 120 % in " +
    'IEC 61869-2, and continuous thermal ratings are of the same order) the CT leaves its accuracy class, overheats, ' +
    'is driven towards saturation by overloads and drives the meter input past its nominal ' +
    `current. A primary more than ${OVERSIZE_RATIO}× the rated current is a warning: the circuit then uses under a quarter of ` +
    "the CT's range, where metering CTs lose accuracy. The configured number of phases must not exceed what the model " +
    'measures. The check runs on changed meters.',
  codes: ['CT_SECONDARY_UNSUPPORTED', 'CT_PRIMARY_BELOW_RATED', 'CT_PRIMARY_OVERSIZED', 'PHASES_UNSUPPORTED'],
  severity: 'error',
  check(ctx) {
    const out: Violation[] = [];
    for (const id of ctx.touched.assets) {
      const meter = ctx.candidate.assets.get(id);
      if (meter?.kind !== 'meter') continue;
      const spec = ctx.catalog.get(meter.modelId)?.meter;
      const who = label(meter);
      const base = { rule: RULE, assetIds: [id] };
      const { primaryA, secondary } = meterCtOf(meter.config);
      const rated = numberOf(meter.config.ratedCurrentA);
      const phases = numberOf(meter.config.phases);
      if (spec && secondary !== undefined && !spec.ctSecondary.some((s) => s === secondary)) {
        out.push({
          ...base,
          code: 'CT_SECONDARY_UNSUPPORTED',
          message: `${who} is set for CTs with a ${secondary} secondary, but the ${meter.modelId} inputs accept only ${spec.ctSecondary.join(', ')}. Fit CTs with one of those secondaries (and set ct.secondary to match), or use a meter model for ${secondary} CTs.`,
          path: '/ct/secondary',
          severity: 'error',
        });
      }
      if (primaryA !== undefined && rated !== undefined && primaryA < rated) {
        out.push({
          ...base,
          code: 'CT_PRIMARY_BELOW_RATED',
          message: `${who} uses ${primaryA} A CTs on a circuit rated ${rated} A; at full load the CTs run beyond their rated current, outside their accuracy class and thermal rating and towards saturation, and overdrive the meter input. Fit CTs with a primary of at least ${rated} A.`,
          path: '/ct/primaryA',
          severity: 'error',
        });
      }
      if (primaryA !== undefined && rated !== undefined && primaryA > OVERSIZE_RATIO * rated) {
        out.push({
          ...base,
          code: 'CT_PRIMARY_OVERSIZED',
          message: `${who} uses ${primaryA} A CTs on a circuit rated ${rated} A, so even full load is only ${Math.round((100 * rated) / primaryA)} % of the CT's rating, where metering CTs lose accuracy. Consider CTs closer to the rated current (e.g. ${rated}–${OVERSIZE_RATIO * rated} A).`,
          path: '/ct/primaryA',
          severity: 'warning',
        });
      }
      if (spec && phases !== undefined && phases > spec.maxPhases) {
        out.push({
          ...base,
          code: 'PHASES_UNSUPPORTED',
          message: `${who} is configured for ${phases} phases, but the ${meter.modelId} measures at most ${spec.maxPhases}. Set phases to ${spec.maxPhases} or use a ${phases}-phase meter.`,
          path: '/phases',
          severity: 'error',
        });
      }
    }
    return out;
  },
};
