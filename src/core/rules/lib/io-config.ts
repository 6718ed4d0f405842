import type { ConfigDoc } from '../../graph/types.ts';

/**
 * Tolerant readers of configuration documents for the I/O rules. Documents are schema-checked
 * before rules run, but optional fields may be absent and a deployed document may predate the
 * current schema, so every reader returns `undefined` rather than throwing.
 */

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function ipOf(config: ConfigDoc): string | undefined {
  return str(config.ip);
}

/** The signal a controller's channel is configured for, if any. */
export function channelSignal(config: ConfigDoc, port: string): string | undefined {
  const channels = config.channels;
  if (!isRecord(channels)) return undefined;
  const channel = channels[port];
  return isRecord(channel) ? str(channel.signal) : undefined;
}

/** Every configured channel of a controller with its signal. */
export function configuredChannels(config: ConfigDoc): Array<{ port: string; signal: string }> {
  const channels = config.channels;
  if (!isRecord(channels)) return [];
  return Object.entries(channels).flatMap(([port, c]) => {
    const signal = isRecord(c) ? str(c.signal) : undefined;
    return signal === undefined ? [] : [{ port, signal }];
  });
}

export interface LoopView {
  index: number;
  name: string;
  inputSensorId?: string;
  outputChannel?: string;
  setpoint?: number;
}

/** A controller's control loops, with their position in `config.loops` for JSON Pointers. */
export function loopsOf(config: ConfigDoc): LoopView[] {
  const loops = config.loops;
  if (!Array.isArray(loops)) return [];
  return loops.flatMap((loop: unknown, index) => {
    if (!isRecord(loop)) return [];
    return [
      {
        index,
        name: str(loop.name) ?? `#${index + 1}`,
        inputSensorId: str(loop.inputSensorId),
        outputChannel: str(loop.outputChannel),
        setpoint: num(loop.setpoint),
      },
    ];
  });
}

export interface RangeView {
  min?: number;
  max?: number;
}

export function rangeOf(config: ConfigDoc): RangeView | undefined {
  const range = config.range;
  return isRecord(range) ? { min: num(range.min), max: num(range.max) } : undefined;
}

export function alarmsOf(config: ConfigDoc): { low?: number; high?: number } {
  const alarms = config.alarms;
  return isRecord(alarms) ? { low: num(alarms.low), high: num(alarms.high) } : {};
}

export function meterCtOf(config: ConfigDoc): { primaryA?: number; secondary?: string } {
  const ct = config.ct;
  return isRecord(ct) ? { primaryA: num(ct.primaryA), secondary: str(ct.secondary) } : {};
}

export { num as numberOf, str as stringOf };
