/** `diff`: what a container changed in its root filesystem, as `docker diff` lists it. */
import { type Change, changes } from '../snapshot/differ.js';
import { overlayDirs } from '../snapshot/overlay-snapshotter.js';
import type { EngineContext } from './context.js';
import { imageOf } from './image-source.js';
import { containerPaths } from './paths.js';
import { containerMounts } from './rootfs.js';
import type { ContainerRecord } from './store.js';

export type { Change };

/** The container's snapshot as its upper folder and the folders below it (top-most first). */
export async function containerLayers(
  ctx: EngineContext,
  rec: ContainerRecord,
): Promise<{ upper: string; lowers: string[] }> {
  const image = await imageOf(ctx.images, rec.config);
  return overlayDirs(await containerMounts(ctx, containerPaths(ctx, rec.id), rec.id, image));
}

/**
 * Where the runtime mounts over the root filesystem: the kernel's file systems, the /etc files
 * Berth writes, binds, volumes, tmpfs (what Docker's init layer holds).
 */
export function mountPoints(rec: ContainerRecord): Set<string> {
  const dests = [
    '/dev',
    '/proc',
    '/sys',
    '/etc/hosts',
    '/etc/hostname',
    '/etc/resolv.conf',
    ...rec.config.mounts.map((m) => m.destination),
    ...rec.config.tmpfs.map((t) => t.destination),
  ];
  return new Set(
    dests.map((d) =>
      d
        .split('/')
        .filter((p) => p !== '' && p !== '.')
        .join('/'),
    ),
  );
}

/** The container's changes: `A`dded, `C`hanged, `D`eleted paths, in Docker's order. */
export async function diffContainer(ctx: EngineContext, rec: ContainerRecord): Promise<Change[]> {
  const { upper, lowers } = await containerLayers(ctx, rec);
  return changes(upper, lowers, { mountPoints: mountPoints(rec) });
}
