/**
 * A root filesystem the runtime mounts (`ContainerConfig.privateRootfs`): the snapshot's
 * overlay is the OCI spec's first mount, at `/`, so runc mounts it inside the container's own
 * mount namespace, on an empty folder in the bundle, and nothing is mounted on the host.
 *
 * Why: a mount on the host costs a mount(8) process at each start and an umount(8) at each
 * stop, and every mount on the host is copied into each new container's namespace by the
 * kernel and read back from mountinfo several times by runc's create and init. A node with
 * 100 pods held 100 such overlays. The files of a running container are reached through its
 * process's root (`/proc/PID/root`) instead.
 */
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition } from '../../core/errors.js';
import { readFileInRoot } from '../fs/in-root.js';
import type { ImageStore } from '../image/image-store.js';
import type { ResolvedImage } from '../image/resolved-image.js';
import { mountAll, unmountOverlay } from '../snapshot/mount.js';
import type { Mount } from '../snapshot/snapshotter.js';
import type { ContainerConfig } from './config.js';
import type { ContainerPaths, StorePaths } from './paths.js';
import { containerMounts, mountRootfs, unmountRootfs } from './rootfs.js';

/** The image's account files, as a container's start reads them to resolve its user. */
export interface AccountFiles {
  passwd: string;
  group: string;
}

/** What a start with a runtime-mounted root needs: the mounts for the spec and its root folder. */
export interface RuntimeRoot {
  /** The snapshot's overlay, to be mounted by the runtime at `/`. */
  mounts: Mount[];
  /** An empty folder in the bundle: the runtime's root path, under the overlay. */
  path: string;
}

/** The kernel takes at most one page of mount options. */
const MAX_OPTIONS = 4000;

/**
 * The runtime-mounted root of one start, or undefined when this container's root is mounted
 * on the host: not asked for, a `--rootfs` folder, an image without layers (a bind mount), or
 * a named volume to fill from the image at this start (that copy reads the host mount).
 */
export async function runtimeRoot(
  store: StorePaths,
  paths: ContainerPaths,
  id: string,
  config: ContainerConfig,
  image: ResolvedImage,
): Promise<RuntimeRoot | undefined> {
  if (!config.privateRootfs || config.rootfs) return undefined;
  if (config.mounts.some((m) => m.type !== 'bind' && !m.noCopy)) return undefined;
  const mounts = await containerMounts(store, paths, id, image);
  if (!mounts.every((m) => m.type === 'overlay') || !fitsOnePage(mounts)) return undefined;
  return { mounts, path: join(paths.bundle, 'rootfs') };
}

/** Whether each mount's options fit the one page the kernel takes. */
export const fitsOnePage = (mounts: readonly Mount[]) =>
  mounts.every((m) => m.options.join(',').length <= MAX_OPTIONS);

/** Account files by image ID, per image store: layers never change under an ID. */
const imageAccounts = new WeakMap<ImageStore, Map<string, AccountFiles>>();

/**
 * /etc/passwd and /etc/group as the container will see them. A container whose own changes
 * are still empty (every pod container's first start) sees its image's, read once per image;
 * otherwise its snapshot is mounted on the host just for the read (a restart after the
 * container may have changed them).
 */
export async function accountFiles(
  store: StorePaths,
  images: ImageStore,
  paths: ContainerPaths,
  id: string,
  image: ResolvedImage,
): Promise<AccountFiles> {
  const known = imageAccounts.get(images) ?? new Map<string, AccountFiles>();
  imageAccounts.set(images, known);
  const pristine = isPristine(paths);
  const cached = pristine ? known.get(image.id) : undefined;
  if (cached) return cached;
  // Read as the container sees them: an image's /etc/passwd may be a symlink.
  const files = await hostView(
    store,
    paths,
    id,
    image,
  )((root) => ({
    passwd: readFileInRoot(root, '/etc/passwd'),
    group: readFileInRoot(root, '/etc/group'),
  }));
  if (pristine) known.set(image.id, files);
  return files;
}

/** Whether the container's own changes are still empty: its root is its image's, unchanged. */
export const isPristine = (paths: ContainerPaths) => readdirSync(paths.upper).length === 0;

/**
 * Runs a function on the container's root mounted on the host just for the call (at its
 * `merged` folder, removed after, so releasing a run knows at once that nothing is mounted).
 */
export function hostView(store: StorePaths, paths: ContainerPaths, id: string, image: ResolvedImage) {
  return async <T>(fn: (root: string) => T): Promise<T> => {
    await mountRootfs(store, paths, id, image);
    try {
      return fn(paths.merged);
    } finally {
      await unmountRootfs(paths);
      rmdirSync(paths.merged);
    }
  };
}

/**
 * Runs `fn` on a read-only view of a running container's root that the runtime mounted: its
 * changes laid over its image as one more lower folder, mounted on the host for the call.
 * The process's root (`/proc/PID/root`) also holds the container's /proc, /sys and volumes,
 * which `export` must leave out, as Docker's host-side mount does.
 */
export async function withReadOnlyView<T>(
  store: StorePaths,
  paths: ContainerPaths,
  id: string,
  image: ResolvedImage,
  fn: (root: string) => Promise<T>,
): Promise<T> {
  const [m] = await containerMounts(store, paths, id, image);
  const upper = m?.options.find((o) => o.startsWith('upperdir='))?.slice('upperdir='.length);
  const lower = m?.options.find((o) => o.startsWith('lowerdir='))?.slice('lowerdir='.length);
  if (m?.type !== 'overlay' || !upper || !lower)
    throw failedPrecondition(`Container ${id} has no overlay to view`);
  const view = join(paths.bundle, 'view');
  mkdirSync(view, { recursive: true });
  const options = [`lowerdir=${upper}:${lower}`];
  if (options[0]!.length > MAX_OPTIONS)
    throw failedPrecondition(`Container ${id} has too many layers to view`);
  await mountAll([{ type: 'overlay', source: 'overlay', options }], view);
  try {
    return await fn(view);
  } finally {
    await unmountOverlay(view);
    rmdirSync(view);
  }
}
