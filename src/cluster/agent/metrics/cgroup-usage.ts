/**
 * CPU and memory figures as the kubelet's resource metrics report them, read from the
 * kernel: a container's from the cgroups its process is in (v1 or v2, wherever the runtime
 * put it), the node's from /proc/stat and /proc/meminfo. Memory is the working set:
 * usage less inactive file pages (what the kubelet and metrics-server call workingSetBytes).
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CGROUP_ROOT } from '../../../core/cgroup-version.js';

export interface Usage {
  /** Cumulative CPU time in nanoseconds. */
  cpuNanos: number;
  workingSetBytes: number;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // Gone (the process exited) or not this cgroup version: no figure.
    return undefined;
  }
}

const statField = (text: string | undefined, key: string) =>
  Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(text ?? '')?.[1] ?? 0);

/** The cgroup paths of a process by controller ('' for the v2 unified hierarchy). */
function cgroupsOf(pid: number): Map<string, string> | undefined {
  const text = read(`/proc/${pid}/cgroup`);
  if (text === undefined) return undefined;
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const c of (m[1] ?? '').split(',')) out.set(c, m[2] ?? '/');
  }
  return out;
}

/** The usage of the cgroup process `pid` is in, or undefined when it is gone. */
export function usageOfPid(pid: number): Usage | undefined {
  const groups = cgroupsOf(pid);
  if (!groups) return undefined;
  const cpuacct = groups.get('cpuacct');
  const memory = groups.get('memory');
  if (cpuacct !== undefined || memory !== undefined) {
    const cpuDir = ['cpuacct', 'cpu,cpuacct'].map((d) => join(CGROUP_ROOT, d, cpuacct ?? '/'));
    const cpu = cpuDir.map((d) => read(join(d, 'cpuacct.usage'))).find((t) => t !== undefined);
    const memDir = join(CGROUP_ROOT, 'memory', memory ?? '/');
    const usage = Number(read(join(memDir, 'memory.usage_in_bytes')) ?? 0);
    const inactive = statField(read(join(memDir, 'memory.stat')), 'total_inactive_file');
    return { cpuNanos: Number(cpu ?? 0), workingSetBytes: Math.max(0, usage - inactive) };
  }
  const unified = groups.get('');
  if (unified === undefined) return undefined;
  const dir = join(CGROUP_ROOT, unified);
  const usage = Number(read(join(dir, 'memory.current')) ?? 0);
  const inactive = statField(read(join(dir, 'memory.stat')), 'inactive_file');
  return {
    cpuNanos: statField(read(join(dir, 'cpu.stat')), 'usage_usec') * 1000,
    workingSetBytes: Math.max(0, usage - inactive),
  };
}

/** The clock ticks per second /proc/stat counts in (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** The whole machine's usage: CPU time not idle, memory in use (total less available). */
export function nodeUsage(): Usage {
  const cpu =
    /^cpu\s+(.*)$/m
      .exec(read('/proc/stat') ?? '')?.[1]
      ?.split(/\s+/)
      .map(Number) ?? [];
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const busy = [0, 1, 2, 5, 6, 7].reduce((s, i) => s + (cpu[i] ?? 0), 0);
  const mem = read('/proc/meminfo') ?? '';
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(mem)?.[1] ?? 0) * 1024;
  return {
    cpuNanos: (busy / USER_HZ) * 1e9,
    workingSetBytes: Math.max(0, kb('MemTotal') - kb('MemAvailable')),
  };
}
