/**
 * What a wired sensor does on a controller: which models fit, how its range and alarms are
 * set, and — when a control loop acts on it — the loop's setpoint band and output.
 */
export interface SensorRole {
  label: string;
  /** Candidate models, preferred first; the first whose output the channel can read is used. */
  models: readonly string[];
  /** Configured (scaled) range; the model's full range when absent. Always inside the model's. */
  range?: { min: number; max: number };
  alarms?: { low?: number; high?: number };
  /** Calibration offsets seen on site, in the sensor's unit. */
  offsets?: readonly number[];
  /** A loop on this sensor: its name, setpoint band (inside the range) and output kind. */
  loop?: { name: string; setpoint: readonly [number, number]; step: number; output: 'ao' | 'do' };
  /** Length of the sensor's cable to the controller, in metres. */
  cableM: readonly [number, number];
}

const TEMP_OFFSETS = [0, 0, 0, 0.2, -0.3, 0.5];

export const ROLES = {
  roomTemp: { label: 'room temp', models: ['thermia-ntc-room'], alarms: { low: 16, high: 28 }, offsets: TEMP_OFFSETS, loop: { name: 'Room temperature', setpoint: [20, 23], step: 0.5, output: 'ao' }, cableM: [5, 30] },
  roomHumidity: { label: 'room humidity', models: ['humix-rh-10v'], alarms: { low: 25, high: 70 }, cableM: [5, 30] },
  window: { label: 'window contact', models: ['contacta-door-1'], alarms: { high: 1 }, cableM: [8, 40] },
  coilWater: { label: 'coil water temp', models: ['thermia-tt-420'], range: { min: 0, max: 100 }, alarms: { low: 5, high: 90 }, offsets: TEMP_OFFSETS, loop: { name: 'Coil valve', setpoint: [40, 50], step: 1, output: 'do' }, cableM: [2, 10] },
  returnWater: { label: 'return water temp', models: ['thermia-tt-420'], range: { min: 0, max: 100 }, alarms: { low: 5, high: 85 }, cableM: [2, 10] },
  filterDp: { label: 'filter dp', models: ['presso-dp-2500'], range: { min: 0, max: 1000 }, alarms: { high: 250 }, cableM: [2, 10] },
  supplyAir: { label: 'supply air temp', models: ['thermia-pt1000-duct', 'thermia-tt-420'], alarms: { low: 8, high: 35 }, offsets: TEMP_OFFSETS, loop: { name: 'Supply air temperature', setpoint: [16, 20], step: 0.5, output: 'ao' }, cableM: [3, 20] },
  returnAir: { label: 'return air temp', models: ['thermia-pt1000-duct', 'thermia-tt-420'], alarms: { low: 10, high: 32 }, offsets: TEMP_OFFSETS, cableM: [3, 20] },
  outsideAir: { label: 'outside air temp', models: ['thermia-pt1000-duct', 'thermia-tt-420'], offsets: TEMP_OFFSETS, cableM: [5, 40] },
  supplyHumidity: { label: 'supply air humidity', models: ['humix-rh-10v'], alarms: { low: 20, high: 80 }, loop: { name: 'Humidifier', setpoint: [40, 55], step: 5, output: 'do' }, cableM: [3, 20] },
  ductPressure: { label: 'duct pressure', models: ['presso-dp-2500'], range: { min: 0, max: 1000 }, alarms: { low: 100, high: 900 }, loop: { name: 'Supply fan pressure', setpoint: [250, 450], step: 25, output: 'ao' }, cableM: [3, 20] },
  flowTemp: { label: 'flow temp', models: ['thermia-tt-420', 'thermia-pt1000-duct'], range: { min: 0, max: 120 }, alarms: { low: 30, high: 90 }, offsets: TEMP_OFFSETS, loop: { name: 'Flow temperature', setpoint: [55, 75], step: 1, output: 'ao' }, cableM: [2, 20] },
  returnTemp: { label: 'return temp', models: ['thermia-tt-420'], range: { min: 0, max: 120 }, alarms: { low: 20, high: 80 }, offsets: TEMP_OFFSETS, cableM: [2, 20] },
  dhwTemp: { label: 'DHW temp', models: ['thermia-tt-420'], range: { min: 0, max: 100 }, alarms: { low: 50, high: 75 }, offsets: TEMP_OFFSETS, loop: { name: 'DHW charging', setpoint: [58, 62], step: 1, output: 'do' }, cableM: [2, 15] },
  tankTemp: { label: 'buffer tank temp', models: ['thermia-tt-420'], range: { min: 0, max: 100 }, alarms: { low: 45, high: 85 }, offsets: TEMP_OFFSETS, cableM: [2, 15] },
  plantDoor: { label: 'plant room door', models: ['contacta-door-1'], alarms: { high: 1 }, cableM: [10, 40] },
} as const satisfies Record<string, SensorRole>;

/** What kind of controller a unit is, its models, and the sensors it reads (cycled to the count). */
export interface ControllerTemplate {
  prefix: string;
  models: ReadonlyArray<readonly [string, number]>;
  sensors: readonly SensorRole[];
}

export const TEMPLATES = {
  /** Fan-coil / zone controllers. */
  room: {
    prefix: 'FCU',
    models: [['ardent-uc-4', 50], ['kelvo-dc-8', 50]],
    sensors: [ROLES.roomTemp, ROLES.coilWater, ROLES.roomHumidity, ROLES.window, ROLES.filterDp, ROLES.returnWater],
  },
  /** Air-handling units. */
  ahu: {
    prefix: 'AHU',
    models: [['kelvo-dc-8', 60], ['kelvo-dc-16', 40]],
    sensors: [ROLES.supplyAir, ROLES.ductPressure, ROLES.returnAir, ROLES.outsideAir, ROLES.supplyHumidity, ROLES.filterDp, ROLES.roomTemp],
  },
  /** Heating / hot-water plant. */
  plant: {
    prefix: 'PLANT',
    models: [['kelvo-dc-16', 100]],
    sensors: [ROLES.flowTemp, ROLES.returnTemp, ROLES.dhwTemp, ROLES.outsideAir, ROLES.tankTemp, ROLES.plantDoor, ROLES.returnWater],
  },
} as const satisfies Record<string, ControllerTemplate>;

export type ControllerRole = keyof typeof TEMPLATES;
