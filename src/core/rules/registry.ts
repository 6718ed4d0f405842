import type { Rule } from './types.ts';
import { parentKindAllowed } from './parent-kind-allowed.ts';
import { sameSite } from './same-site.ts';
import { attachmentAddress } from './attachment-address.ts';
import { busUnitIdUnique } from './bus-unit-id-unique.ts';
import { busSerialSettings } from './bus-serial-settings.ts';
import { busUnitLoads } from './bus-unit-loads.ts';
import { busCableLength } from './bus-cable-length.ts';
import { busPollBudget } from './bus-poll-budget.ts';
import { mstpAddressing } from './mstp-addressing.ts';
import { bacnetInstanceUnique } from './bacnet-instance-unique.ts';
import { ipInSubnet } from './ip-in-subnet.ts';
import { ipUnique } from './ip-unique.ts';
import { channelSingleSensor } from './channel-single-sensor.ts';
import { sensorCablePlacement } from './sensor-cable-placement.ts';
import { sensorSignalMatch } from './sensor-signal-match.ts';
import { controlLoopRefs } from './control-loop-refs.ts';
import { setpointsInRange } from './setpoints-in-range.ts';
import { meterCt } from './meter-ct.ts';
import { gatewayPointCapacity } from './gateway-point-capacity.ts';
import { pollIntervalFloor } from './poll-interval-floor.ts';
import { firmwareFeatures } from './firmware-features.ts';
import { serialUnique } from './serial-unique.ts';
import { nameUnique } from './name-unique.ts';
import { deleteGuard } from './delete-guard.ts';
import { retiredFrozen } from './retired-frozen.ts';
import { cablePorts } from './cable-ports.ts';
import { acknowledgedClaimsFree } from './acknowledged-claims-free.ts';

/** Every built-in rule, in the order their violations are reported. */
export const rules: readonly Rule[] = [
  // topology
  parentKindAllowed,
  sameSite,
  attachmentAddress,
  // serial buses
  busUnitIdUnique,
  busSerialSettings,
  busUnitLoads,
  busCableLength,
  busPollBudget,
  mstpAddressing,
  bacnetInstanceUnique,
  acknowledgedClaimsFree,
  // site network
  ipInSubnet,
  ipUnique,
  // channels, sensors and control
  channelSingleSensor,
  sensorCablePlacement,
  sensorSignalMatch,
  controlLoopRefs,
  setpointsInRange,
  meterCt,
  // gateway budgets and firmware
  gatewayPointCapacity,
  pollIntervalFloor,
  firmwareFeatures,
  // identity and lifecycle
  serialUnique,
  nameUnique,
  deleteGuard,
  retiredFrozen,
  cablePorts,
];
