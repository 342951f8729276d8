/**
 * Which CPU each Ingress helper process runs on, as nginx's `worker_cpu_affinity auto`: helper
 * i on the i-th CPU this process may use. On the 2-core bench machine, two helpers pinned this
 * way (nginx's workers alike) spent less CPU per request and took a steadier share of the
 * cores beside the load generator and the pod than helpers the scheduler moved between cores
 * (docs/ingress.md, "Helpers pinned to a CPU each"). Node has no call to set a process's
 * affinity, so a helper is started through util-linux's `taskset`, which sets it and then
 * executes Node: every thread of the helper (V8's too) inherits it from the start.
 */
import { readFileSync } from 'node:fs';
import { programPath } from '../../core/program-path.js';

/**
 * Parses a CPU list as the kernel prints it (`Cpus_allowed_list` in /proc/PID/status, cpuset
 * files): `0-3,8,10-11`. Returns the CPUs in ascending order; an unreadable list is empty.
 */
export function parseCpuList(list: string): number[] {
  const out = new Set<number>();
  for (const part of list.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return [];
    const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (to < from) return [];
    for (let c = from; c <= to; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

/** The CPUs this process may run on (its affinity, a container's cpuset included). */
export function allowedCpus(status = '/proc/self/status'): number[] {
  try {
    const m = /\nCpus_allowed_list:\s*(\S+)/.exec(readFileSync(status, 'utf8'));
    return m ? parseCpuList(m[1]!) : [];
  } catch {
    // Not Linux, or no /proc: helpers then run where the scheduler puts them.
    return [];
  }
}

/** Where program `name` is on the PATH (programPath answers the bare name when nowhere). */
function installed(name: string): string | undefined {
  const p = programPath(name);
  return p.includes('/') ? p : undefined;
}

/** How helpers are pinned: `taskset` runs helper i on `cpus[i]`. */
export interface HelperAffinity {
  taskset: string;
  cpus: readonly number[];
}

/**
 * The CPUs for `count` helpers, one each, or why they are not pinned (`why`, for the log): a
 * single helper (nothing to keep apart, and pinned it could not leave a core that other work
 * took), fewer CPUs than helpers (two helpers on one CPU would each get half of it however idle
 * the other cores were, where the scheduler would move one), a single CPU, or no `taskset`.
 */
export function helperAffinity(
  count: number,
  host: { cpus: readonly number[]; taskset: string | undefined } = {
    cpus: allowedCpus(),
    taskset: installed('taskset'),
  },
): HelperAffinity | { why: string } {
  const { cpus, taskset } = host;
  if (count < 2) return { why: 'one helper' };
  if (cpus.length < 2) return { why: `this process may use ${cpus.length || 'an unknown number of'} CPU(s)` };
  if (count > cpus.length) return { why: `${count} helpers for ${cpus.length} CPUs` };
  if (!taskset) return { why: 'taskset (util-linux) is not on the PATH' };
  return { taskset, cpus: cpus.slice(0, count) };
}
