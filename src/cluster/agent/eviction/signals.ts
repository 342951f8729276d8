/**
 * The eviction signals measured on the machine (the kubelet's summary-based observations):
 * memory.available is the memory capacity less the working set of the root cgroup (usage
 * less inactive file pages, on cgroup v1; /proc/meminfo's MemAvailable where the root has
 * no usage file, as on v2), nodefs.available the free space of the file system holding the
 * pods' folders, imagefs.available that of the engine's root (images and containers).
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { disk } from '../machine.js';
import type { EvictionSignal } from './thresholds.js';

/** What one signal measured: bytes available of a capacity. */
export interface Observation {
  available: number;
  capacity: number;
}

export type Observations = Partial<Record<EvictionSignal, Observation>>;

const read = (p: string): string | undefined => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    // Not this cgroup version (or no such controller): the caller falls back.
    return undefined;
  }
};

/** The root cgroup's working set (cgroup v1), or undefined where it cannot be read. */
function rootWorkingSet(): number | undefined {
  const usage = read('/sys/fs/cgroup/memory/memory.usage_in_bytes');
  const stat = read('/sys/fs/cgroup/memory/memory.stat');
  if (usage === undefined || stat === undefined) return undefined;
  const inactive = Number(/^total_inactive_file (\d+)$/m.exec(stat)?.[1] ?? 0);
  return Math.max(0, Number(usage) - inactive);
}

export function memoryObservation(): Observation {
  const capacity = totalmem();
  const ws = rootWorkingSet();
  if (ws !== undefined) return { capacity, available: Math.max(0, capacity - ws) };
  const kb = Number(/MemAvailable:\s+(\d+)/.exec(read('/proc/meminfo') ?? '')?.[1] ?? 0);
  return { capacity, available: kb * 1024 };
}

/** Every signal, for the pods' folder `podsDir` and the engine root `root`. */
export function observe(paths: { podsDir: string; root: string }): Observations {
  const fs = (p: string): Observation => {
    const d = disk(p);
    return { available: d.available, capacity: d.total };
  };
  return {
    'memory.available': memoryObservation(),
    'nodefs.available': fs(paths.podsDir),
    'imagefs.available': fs(paths.root),
  };
}
