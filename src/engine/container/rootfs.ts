/**
 * A container's root filesystem: its active snapshot (key: the container ID) on its image's
 * top layer, mounted at ROOT/containers/ID/merged. The snapshot is prepared at the first start
 * and kept until the container is removed; the mount is made at start and undone when the
 * container stops or is removed.
 */
import { existsSync, lstatSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { isNotFound, unlessNotFound } from '../../core/errors.js';
import type { ResolvedImage } from '../image/resolved-image.js';
import { hasOwnFileSystem, isMounted, mountAll, unmount, unmountOverlay } from '../snapshot/mount.js';
import { withLowerDirs } from '../snapshot/overlay-snapshotter.js';
import { snapshotterOf } from '../snapshot/snapshots.js';
import type { Mount } from '../snapshot/snapshotter.js';
import type { ContainerPaths, StorePaths } from './paths.js';

/**
 * The mounts of the container's snapshot, prepared on the image's top layer when it has none.
 * A `--rootfs` folder is not a snapshot: it goes below the snapshot as a plain lower folder.
 */
export async function containerMounts(
  store: StorePaths,
  paths: ContainerPaths,
  id: string,
  image: ResolvedImage,
): Promise<Mount[]> {
  const snapshotter = snapshotterOf(store.root);
  let mounts: Mount[];
  try {
    mounts = await snapshotter.mounts(id);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    mounts = await snapshotter.prepare(id, image.topLayer ? await image.topLayer() : '');
    // A container made before snapshots kept its changes in its own folder: they move in.
    if (existsSync(paths.legacyUpper)) {
      rmSync(paths.upper, { recursive: true, force: true });
      renameSync(paths.legacyUpper, paths.upper);
    }
  }
  return image.topLayer ? mounts : withLowerDirs(mounts, await image.lowerDirs());
}

/** Mounts the container's root filesystem unless it is mounted already. */
export async function mountRootfs(
  store: StorePaths,
  paths: ContainerPaths,
  id: string,
  image: ResolvedImage,
) {
  const mounts = await containerMounts(store, paths, id, image);
  // An overlay is recognised from two stats; an image without layers gets a bind mount, which
  // only the mount table shows.
  const overlay = mounts.every((m) => m.type === 'overlay');
  if (overlay ? hasOwnFileSystem(paths.merged) : isMounted(paths.merged)) return;
  mkdirSync(paths.merged, { recursive: true });
  await mountAll(mounts, paths.merged);
}

/** Unmounts the container's root filesystem if mounted. */
export async function unmountRootfs(paths: ContainerPaths): Promise<void> {
  // Never mounted (a first start releases what an earlier run might hold): nothing can be
  // mounted on a folder that does not exist, and this spares reading the mount table.
  if (!lstatSync(paths.merged, { throwIfNoEntry: false })) return;
  if (hasOwnFileSystem(paths.merged)) await unmountOverlay(paths.merged);
  else await unmount(paths.merged);
}

/** Removes the container's snapshot (after its rootfs is unmounted). */
export async function removeContainerSnapshot(store: StorePaths, id: string): Promise<void> {
  await unlessNotFound(snapshotterOf(store.root).remove(id));
}
