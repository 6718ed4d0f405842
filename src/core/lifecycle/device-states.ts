/**
 * The lifecycle of a physical device:
 *
 *   in_stock → installed → commissioned → active ⇄ maintenance → decommissioned
 *   installed | commissioned | active | maintenance → faulty → rma
 *
 * A device fills an asset's slot from `installed` until it leaves for `decommissioned` or
 * `faulty`.
 */
export type DeviceState = 'in_stock' | 'installed' | 'commissioned' | 'active' | 'maintenance' | 'decommissioned' | 'faulty' | 'rma';

export const DEVICE_STATES: readonly DeviceState[] = ['in_stock', 'installed', 'commissioned', 'active', 'maintenance', 'decommissioned', 'faulty', 'rma'];

export type Transition = 'install' | 'commission' | 'activate' | 'start_maintenance' | 'end_maintenance' | 'decommission' | 'report_fault' | 'return_to_vendor';

/** Where each transition may start and where it leads. */
export const TRANSITIONS: Record<Transition, { from: readonly DeviceState[]; to: DeviceState }> = {
  install: { from: ['in_stock'], to: 'installed' },
  commission: { from: ['installed'], to: 'commissioned' },
  activate: { from: ['commissioned'], to: 'active' },
  start_maintenance: { from: ['active'], to: 'maintenance' },
  end_maintenance: { from: ['maintenance'], to: 'active' },
  decommission: { from: ['installed', 'commissioned', 'active', 'maintenance'], to: 'decommissioned' },
  report_fault: { from: ['installed', 'commissioned', 'active', 'maintenance'], to: 'faulty' },
  return_to_vendor: { from: ['faulty'], to: 'rma' },
};

/** States in which a device occupies its asset's slot. */
export const SLOT_STATES: readonly DeviceState[] = ['installed', 'commissioned', 'active', 'maintenance'];

/** Transitions possible from `state`, before guards. */
export function transitionsFrom(state: DeviceState): Transition[] {
  return (Object.keys(TRANSITIONS) as Transition[]).filter((t) => TRANSITIONS[t].from.includes(state));
}
