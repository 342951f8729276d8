/**
 * The pod cgroups under `kubepods` (the kubelet's cgroupfs driver): made with the pod's
 * values before its first container, removed with its sandbox. runc makes each container's
 * own cgroup beneath and writes the container's values. cgroup v1 (a folder per controller)
 * and v2 (one tree, controllers enabled on the way down) both.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CGROUP_ROOT, isCgroupV2 } from '../../core/cgroup-version.js';
import { logger } from '../../core/log.js';
import type { CgroupValues } from './qos.js';

const log = logger('agent');

/** The v1 controllers a pod cgroup is made in (runc makes the container's in every one it uses). */
const V1_CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids'] as const;

export type CgroupVersion = 1 | 2;

/** Each root's version, found once: a host's cgroup hierarchy does not change while Berth runs. */
const versions = new Map<string, CgroupVersion>();

export function cgroupVersion(root = CGROUP_ROOT): CgroupVersion {
  let v = versions.get(root);
  if (v === undefined) {
    v = isCgroupV2(root) ? 2 : 1;
    versions.set(root, v);
  }
  return v;
}

/** runc's conversion of cpu.shares to a v2 cpu.weight. */
export function weightFromShares(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** The files and values of a cgroup, for version `v` (paths relative to the cgroup's folder in each controller). */
export function cgroupFiles(
  values: CgroupValues,
  v: CgroupVersion,
): { controller: string; file: string; value: string }[] {
  if (v === 2)
    return [
      { controller: '', file: 'cpu.weight', value: String(weightFromShares(values.cpuShares)) },
      {
        controller: '',
        file: 'cpu.max',
        value: `${values.cpuQuota ?? 'max'} ${values.cpuPeriod ?? 100_000}`,
      },
      { controller: '', file: 'memory.max', value: values.memoryLimit ? String(values.memoryLimit) : 'max' },
      { controller: '', file: 'pids.max', value: values.pidsLimit ? String(values.pidsLimit) : 'max' },
    ];
  return [
    { controller: 'cpu', file: 'cpu.shares', value: String(values.cpuShares) },
    { controller: 'cpu', file: 'cpu.cfs_period_us', value: String(values.cpuPeriod ?? 100_000) },
    { controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(values.cpuQuota ?? -1) },
    { controller: 'memory', file: 'memory.limit_in_bytes', value: String(values.memoryLimit ?? -1) },
    { controller: 'pids', file: 'pids.max', value: values.pidsLimit ? String(values.pidsLimit) : 'max' },
  ];
}

/**
 * What a cgroup the kernel has just made holds: writing these again is kernel work for nothing
 * (a CFS quota write walks every CPU), and a BestEffort pod's values are all of them but its
 * shares.
 */
const KERNEL_DEFAULTS: Record<string, string> = {
  'cpu.shares': '1024',
  'cpu.cfs_period_us': '100000',
  'cpu.cfs_quota_us': '-1',
  'memory.limit_in_bytes': '-1',
  'cpu.weight': '100',
  'cpu.max': 'max 100000',
  'memory.max': 'max',
  'pids.max': 'max',
};

/** Writes a file of a cgroup, naming the cgroup and value when the kernel refuses it. */
function write(dir: string, file: string, value: string): void {
  try {
    writeFileSync(join(dir, file), value);
  } catch (e) {
    throw new Error(`Cannot set ${file}=${value} in ${dir}: ${(e as Error).message}`);
  }
}

/**
 * Makes (or updates) the cgroup at `path` (cgroupfs form, `/kubepods/burstable/podUID`) with
 * `values`. The BestEffort tier gets the minimum shares, as the kubelet gives it.
 */
export function ensurePodCgroup(path: string, values: CgroupValues, root = CGROUP_ROOT): void {
  const v = cgroupVersion(root);
  const rel = path.replace(/^\/+/, '');
  log.debug('making a pod cgroup', { cgroup: path });
  const besteffort = basename(dirname(rel)) === 'besteffort';
  // The controllers ('' in v2) in which the pod's cgroup was made now, not found.
  const made = new Set<string>();
  if (v === 2) {
    // Each level down to the pod's parent must hand cpu, memory and pids to its children.
    const parts = rel.split('/');
    let dir = root;
    for (const [i, part] of parts.entries()) {
      write(dir, 'cgroup.subtree_control', '+cpu +memory +pids');
      dir = join(dir, part);
      const first = mkdirSync(dir, { recursive: true });
      if (i === parts.length - 1 && first !== undefined) made.add('');
    }
    if (besteffort) write(join(root, dirname(rel)), 'cpu.weight', '1');
  } else {
    for (const c of V1_CONTROLLERS)
      if (mkdirSync(join(root, c, rel), { recursive: true }) !== undefined) made.add(c);
    if (besteffort) write(join(root, 'cpu', dirname(rel)), 'cpu.shares', '2');
  }
  // In v1 the period is written before the quota, so that the pair is valid at each step.
  for (const f of cgroupFiles(values, v))
    if (!made.has(f.controller) || KERNEL_DEFAULTS[f.file] !== f.value)
      write(join(root, f.controller, rel), f.file, f.value);
}

/** Removes a pod's cgroup (its containers' are gone with them); a busy one is logged and left. */
export function removePodCgroup(path: string, root = CGROUP_ROOT): void {
  const rel = path.replace(/^\/+/, '');
  log.debug('removing a pod cgroup', { cgroup: path });
  const dirs = cgroupVersion(root) === 2 ? [join(root, rel)] : V1_CONTROLLERS.map((c) => join(root, c, rel));
  for (const d of new Set(dirs)) {
    try {
      rmdirSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') log.warn('a pod cgroup could not be removed', { cgroup: d, err: e as Error });
    }
  }
}

/** Reads one value of a cgroup (for tests and metrics); undefined when absent. */
export function readCgroup(
  path: string,
  controller: string,
  file: string,
  root = CGROUP_ROOT,
): string | undefined {
  const p = join(root, cgroupVersion(root) === 2 ? '' : controller, path.replace(/^\/+/, ''), file);
  return existsSync(p) ? readFileSync(p, 'utf8').trim() : undefined;
}
