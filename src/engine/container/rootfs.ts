/**
 * A container's root filesystem: its active snapshot (key: the container ID) on its image's
 * top layer, mounted at ROOT/containers/ID/merged. The snapshot is prepared at the first start
 * and kept until the container is removed; the mount is made at start and undone when the
 * container stops or is removed.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { internal, isNotFound } from '../../core/errors.js';
import { run } from '../../core/exec.js';
import type { ResolvedImage } from '../image/resolved-image.js';
import { withLowerDirs } from '../snapshot/overlay-snapshotter.js';
import { snapshotterOf } from '../snapshot/snapshots.js';
import type { Mount } from '../snapshot/snapshotter.js';
import type { ContainerPaths, StorePaths } from './paths.js';

/** True when `path` is a mount point (read from /proc/self/mountinfo, no process spawned). */
export function isMounted(path: string): boolean {
  const info = readFileSync('/proc/self/mountinfo', 'utf8');
  const escaped = path.replace(/ /g, '\\040');
  for (const line of info.split('\n')) if (line.split(' ')[4] === escaped) return true;
  return false;
}

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
  if (isMounted(paths.merged)) return;
  const mounts = await containerMounts(store, paths, id, image);
  mkdirSync(paths.merged, { recursive: true });
  for (const m of mounts) await mountOne(m, paths.merged);
}

async function mountOne(m: Mount, target: string): Promise<void> {
  const options = m.options.join(',');
  // The kernel takes at most one page of mount options.
  if (options.length > 4000) throw internal(`Too many image layers to mount (${options.split(':').length})`);
  if (m.type === 'bind') {
    await run('mount', ['--bind', m.source, target]);
    if (m.options.includes('ro')) await run('mount', ['-o', 'remount,bind,ro', target]);
    return;
  }
  await run('mount', ['-t', m.type, m.source, '-o', options, target]);
}

/** Unmounts the overlay if mounted; a busy mount is detached lazily. */
export async function unmountRootfs(paths: ContainerPaths): Promise<void> {
  if (!isMounted(paths.merged)) return;
  const r = await run('umount', [paths.merged], { check: false });
  if (r.code !== 0 && isMounted(paths.merged)) await run('umount', ['-l', paths.merged], { check: false });
}

/** Removes the container's snapshot (after its rootfs is unmounted). */
export async function removeContainerSnapshot(store: StorePaths, id: string): Promise<void> {
  await snapshotterOf(store.root)
    .remove(id)
    .catch((e) => {
      if (!isNotFound(e)) throw e;
    });
}
