/** Engine-wide facts (`info`) and disk use (`system df`). */
import { lstatSync, readdirSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import { isCgroupV2 } from '../../core/cgroup-version.js';
import { run } from '../../core/exec.js';
import { detectRuntime } from '../runtime/oci-runtime.js';
import { snapshotsDir } from '../snapshot/snapshots.js';
import type { EngineContext } from './context.js';
import { listContainers } from './lifecycle.js';
import { containerPaths } from './paths.js';

/** `docker info`-like facts about this engine and host. */
export async function engineInfo(ctx: EngineContext): Promise<Record<string, unknown>> {
  const list = listContainers(ctx);
  const rt = detectRuntime(ctx.runroot);
  const conmon = await run('conmon', ['--version'], { check: false }).catch(() => undefined);
  return {
    Containers: list.length,
    ContainersRunning: list.filter((c) => c.state === 'running').length,
    ContainersStopped: list.filter((c) => c.state !== 'running').length,
    Volumes: ctx.volumes.list().length,
    Driver: 'overlay',
    CgroupVersion: isCgroupV2() ? '2' : '1',
    CgroupDriver: 'cgroupfs',
    DefaultRuntime: rt.name,
    RuntimePath: rt.path,
    Conmon: conmon?.stdout.split('\n')[0] ?? 'not installed',
    NCPU: cpus().length,
    MemTotal: totalmem(),
    Name: hostname(),
    OperatingSystem: process.platform,
    DockerRootDir: ctx.root,
    RunRoot: ctx.runroot,
  };
}

/**
 * Bytes under a path, not following symlinks (stops at mount points it cannot read). With
 * `folders: false` only the files count, as Docker sizes a volume (an empty one is 0 B).
 */
export function du(path: string, o: { folders?: boolean } = {}): number {
  let total = 0;
  const walk = (p: string) => {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (o.folders !== false || !st.isDirectory()) total += st.size;
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
  };
  walk(path);
  return total;
}

/** One line of `system df`. */
export interface DiskUse {
  type: string;
  total: number;
  active: number;
  bytes: number;
}

/** Disk use of images (their unpacked layers, each counted once), containers (upper layers and logs) and volumes, in Docker's order. */
export async function diskUsage(ctx: EngineContext): Promise<DiskUse[]> {
  const list = listContainers(ctx);
  const cbytes = list.reduce((n, c) => {
    const p = containerPaths(ctx, c.id);
    return n + du(p.upper) + du(p.log);
  }, 0);
  const vols = ctx.volumes.list();
  const used = new Set(list.flatMap((c) => c.config.mounts.map((m) => m.source)));
  const images = ctx.images.index.list();
  return [
    {
      type: 'Images',
      total: images.length,
      active: images.filter((i) => ctx.containers.usersOfImage(i.id).length > 0).length,
      bytes: du(snapshotsDir(ctx.images.root)),
    },
    {
      type: 'Containers',
      total: list.length,
      active: list.filter((c) => c.state === 'running').length,
      bytes: cbytes,
    },
    {
      type: 'Local Volumes',
      total: vols.length,
      active: vols.filter((v) => used.has(v.Name)).length,
      bytes: vols.reduce((n, v) => n + du(v.Mountpoint), 0),
    },
  ];
}
