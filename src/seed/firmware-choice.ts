import { compareFirmware } from '../core/catalog/catalog.ts';
import type { DeviceModel } from '../core/catalog/types.ts';
import type { Rng } from './prng.ts';

/** Share of devices on their model's latest release; the rest run an older one that still suffices. */
const ON_LATEST = 0.7;

/**
 * A published firmware release of `model` that enables every feature in `features` (protocols,
 * by capability name). Throws when the model cannot do one of them: that is a planner bug, not
 * something to paper over with an unpublished version.
 *
 * @example
 *   chooseFirmware(rng, gw200, ['modbus-rtu', 'bacnet-mstp']); // '2.1.0' or '2.3.1'
 */
export function chooseFirmware(rng: Rng, model: DeviceModel, features: readonly string[]): string | null {
  if (model.firmware.length === 0) return null;
  let min = model.firmware[0];
  for (const feature of features) {
    const capability = model.capabilities.find((c) => c.name === feature);
    if (!capability) throw new Error(`seed planner: ${model.id} cannot do ${feature}`);
    if (compareFirmware(capability.minFirmware, min) > 0) min = capability.minFirmware;
  }
  const eligible = model.firmware.filter((v) => compareFirmware(v, min) >= 0);
  if (eligible.length === 0) throw new Error(`seed planner: no published firmware of ${model.id} reaches ${min}`);
  return rng.chance(ON_LATEST) ? eligible[eligible.length - 1] : rng.pick(eligible);
}
