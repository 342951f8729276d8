/**
 * The kubelet's hard eviction thresholds (`--eviction-hard`): a signal, `<`, and a quantity
 * (`100Mi`) or a percentage of the resource's capacity (`10%`). Defaults are the kubelet's
 * (memory.available<100Mi, nodefs.available<10%, imagefs.available<15%); a flag names only
 * the thresholds it changes, the others keep their defaults, and `0%` or `0` turns one off.
 */
import { invalidArgument } from '../../../core/errors.js';
import { parseQuantity } from '../../scheduler/quantity.js';

/** What is measured: free memory, free space on the pods' file system and on the images'. */
export const evictionSignals = ['memory.available', 'nodefs.available', 'imagefs.available'] as const;
export type EvictionSignal = (typeof evictionSignals)[number];

export interface Threshold {
  signal: EvictionSignal;
  /** Bytes, when given as a quantity. */
  quantity?: number;
  /** A fraction (0.1 for 10%) of the capacity, when given as a percentage. */
  percentage?: number;
}

export const defaultEvictionHard = 'memory.available<100Mi,nodefs.available<10%,imagefs.available<15%';

const isSignal = (s: string): s is EvictionSignal => (evictionSignals as readonly string[]).includes(s);

function parseList(spec: string): Threshold[] {
  const out: Threshold[] = [];
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([a-z.A-Z]+)\s*<\s*(\S+)$/.exec(part);
    if (!m)
      throw invalidArgument(
        `Invalid --eviction-hard "${spec}": "${part}" is not SIGNAL<QUANTITY (memory.available<100Mi, nodefs.available<10%)`,
      );
    const [, signal, value] = m as unknown as [string, string, string];
    if (!isSignal(signal))
      throw invalidArgument(
        `Invalid --eviction-hard "${spec}": unsupported eviction signal "${signal}" (one of ${evictionSignals.join(', ')})`,
      );
    if (value.endsWith('%')) {
      const pct = Number(value.slice(0, -1));
      if (!Number.isFinite(pct) || pct < 0 || pct > 100)
        throw invalidArgument(
          `Invalid --eviction-hard "${spec}": "${value}" is not a percentage from 0% to 100%`,
        );
      out.push({ signal, percentage: pct / 100 });
      continue;
    }
    if (!/^\d+(\.\d+)?([KMGTPE]i|[kMGTPE])?$/.test(value))
      throw invalidArgument(`Invalid --eviction-hard "${spec}": "${value}" is not a quantity (100Mi, 1Gi)`);
    out.push({ signal, quantity: Math.ceil(parseQuantity(value)) });
  }
  return out;
}

/** The thresholds in force: the kubelet's defaults with those named in `spec` replaced. */
export function parseEvictionHard(spec = ''): Threshold[] {
  const given = parseList(spec);
  const merged = parseList(defaultEvictionHard).map((d) => given.find((g) => g.signal === d.signal) ?? d);
  // A zero threshold is one turned off.
  return merged.filter((t) => (t.quantity ?? 0) > 0 || (t.percentage ?? 0) > 0);
}

/** The threshold in bytes for a resource of `capacity` bytes. */
export const thresholdBytes = (t: Threshold, capacity: number): number =>
  t.quantity ?? Math.ceil((t.percentage ?? 0) * capacity);
