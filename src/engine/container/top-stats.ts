/**
 * `top` and `stats`: the processes in a container (from the runtime's `ps`) and its resource
 * use, read from the container's cgroups (v1 controllers, or the v2 unified tree).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflict } from '../../core/errors.js';
import { run } from '../../core/exec.js';
import { detectRuntime, runtimeGlobalArgs } from '../runtime/oci-runtime.js';
import { cgroupsPathFor } from '../runtime/oci-spec.js';
import type { EngineContext } from './context.js';
import type { ContainerRecord } from './store.js';

/** One process row of `top`. */
export interface TopRow {
  uid: number;
  pid: number;
  ppid: number;
  cmd: string;
}

/** The processes of a running container. */
export async function topContainer(ctx: EngineContext, rec: ContainerRecord): Promise<TopRow[]> {
  if (rec.state !== 'running') throw conflict(`Container ${rec.id.slice(0, 12)} is not running`);
  const runtime = detectRuntime(ctx.runroot, rec.config.runtime);
  const r = await run(runtime.path, [...runtimeGlobalArgs(runtime), 'ps', '--format', 'json', rec.id]);
  const pids = (JSON.parse(r.stdout || '[]') as number[] | null) ?? [];
  const rows: TopRow[] = [];
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      rows.push({ uid, pid, ppid, cmd });
    } catch {
      /* exited meanwhile */
    }
  }
  return rows;
}

/** Resource use of one container, as `docker stats` shows it. */
export interface ContainerStats {
  id: string;
  name: string;
  /** Cumulative CPU time in nanoseconds. */
  cpuNanos: number;
  memoryUsage: number;
  /** The memory limit; the host's memory when unlimited. */
  memoryLimit: number;
  pids: number;
  pidsLimit: number;
}

const num = (p: string): number | undefined => {
  try {
    const t = readFileSync(p, 'utf8').trim();
    if (t === 'max') return undefined;
    const n = Number(t);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
};

/** Reads the container's cgroup counters (zero when it is not running). */
export function statsOf(rec: ContainerRecord, hostMemory: number): ContainerStats {
  const cg = cgroupsPathFor(rec.id, rec.config.cgroupParent);
  const base = '/sys/fs/cgroup';
  const v2 = existsSync(join(base, 'cgroup.controllers'));
  let cpuNanos = 0;
  let memoryUsage = 0;
  let memoryLimit: number | undefined;
  let pids = 0;
  let pidsLimit = 0;
  if (v2) {
    const d = join(base, cg);
    const usage = /usage_usec (\d+)/.exec(
      (() => {
        try {
          return readFileSync(join(d, 'cpu.stat'), 'utf8');
        } catch {
          return '';
        }
      })(),
    );
    cpuNanos = usage ? Number(usage[1]) * 1000 : 0;
    memoryUsage = num(join(d, 'memory.current')) ?? 0;
    memoryLimit = num(join(d, 'memory.max'));
    pids = num(join(d, 'pids.current')) ?? 0;
    pidsLimit = num(join(d, 'pids.max')) ?? 0;
  } else {
    cpuNanos =
      num(join(base, 'cpuacct', cg, 'cpuacct.usage')) ??
      num(join(base, 'cpu,cpuacct', cg, 'cpuacct.usage')) ??
      0;
    memoryUsage = num(join(base, 'memory', cg, 'memory.usage_in_bytes')) ?? 0;
    memoryLimit = num(join(base, 'memory', cg, 'memory.limit_in_bytes'));
    pids = num(join(base, 'pids', cg, 'pids.current')) ?? 0;
    pidsLimit = num(join(base, 'pids', cg, 'pids.max')) ?? 0;
  }
  if (memoryLimit === undefined || memoryLimit > hostMemory) memoryLimit = hostMemory;
  return { id: rec.id, name: rec.name, cpuNanos, memoryUsage, memoryLimit, pids, pidsLimit };
}

/** The host's total CPU time in nanoseconds (all CPUs, from /proc/stat), the base of `docker stats`' CPU %. */
export function hostCpuNanos(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const ticks = line
    .trim()
    .split(/\s+/)
    .slice(1, 8)
    .reduce((n, v) => n + Number(v), 0);
  // USER_HZ is 100 on every Linux ABI Berth runs on.
  return ticks * 1e7;
}
