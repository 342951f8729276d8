/**
 * A read-only layer of mount points, shared by the containers of one image that mount the same
 * paths (the node agent's pod containers: /etc/hosts, /etc/hostname, /etc/resolv.conf, the
 * ServiceAccount folder, volumes). It is the top lower folder of their root overlay, so the
 * runtime finds each mount point in place instead of making it, with the folders above it, in
 * every container's own changes: Docker's per-container "-init" layer, made once per image
 * and set of mount points. On this machine's journal-less ext4 each inode a container's start
 * made there cost about 0.4 ms of CPU (ext4 searching past recently freed inodes), a third of
 * `runc init`'s.
 *
 * Paths are resolved in the image as the runtime resolves them (symlinks followed inside the
 * root); a mount point the image has already is left out, and folders the layer must hold
 * above a new one keep the image's mode and owner (the top layer's folder gives a merged
 * folder its attributes). Layers live under ROOT/init-layers/IMAGE and go with the image.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';
import { lstatAt, resolvePath, treeLookup } from '../fs/resolve.js';
import type { ResolvedImage } from '../image/resolved-image.js';
import { Beneath } from '../snapshot/beneath.js';
import type { StorePaths } from './paths.js';

/** A path the container mounts something on, and whether that something is a folder. */
export interface MountPoint {
  destination: string;
  dir: boolean;
}

/** Kernel file systems the spec mounts itself: their mount points are never in the image's layers. */
const KERNEL_MOUNTS = new Set(['dev', 'proc', 'sys']);

const folderOf = (root: string, imageId: string) =>
  join(root, 'init-layers', imageId.replace(/^sha256:/, ''));

/** The layer's folder for `points` on `image` (it may not exist yet). */
function layerDir(root: string, imageId: string, points: readonly MountPoint[]): string {
  const key = [...points]
    .map((p) => `${p.dir ? 'd' : 'f'}${p.destination}`)
    .sort()
    .join('\0');
  return join(folderOf(root, imageId), createHash('sha256').update(key).digest('hex').slice(0, 24));
}

/**
 * The init layer of `points` on `image`, made from `view` (a folder where the image's root is
 * mounted, unchanged) when it is not there yet; undefined when the image has every mount point.
 * `view` is called only to make a layer.
 */
export async function initLayer(
  store: StorePaths,
  image: ResolvedImage,
  points: readonly MountPoint[],
  view: <T>(fn: (root: string) => T) => Promise<T>,
): Promise<string | undefined> {
  const dir = layerDir(store.root, image.id, points);
  if (existsSync(dir)) return existsSync(join(dir, 'fs')) ? join(dir, 'fs') : undefined;
  const tmp = join(folderOf(store.root, image.id), `tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  mkdirSync(tmp, { recursive: true });
  try {
    const made = await view((root) => fill(root, join(tmp, 'fs'), points));
    // An image with every mount point gets an empty record, so its view is not mounted again.
    if (!made) rmSync(join(tmp, 'fs'), { recursive: true, force: true });
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another start made the same layer meanwhile: theirs is as good.
      if (!existsSync(dir)) throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return existsSync(join(dir, 'fs')) ? join(dir, 'fs') : undefined;
}

/** Makes in `layer` the mount points of `points` the image at `root` lacks; false when none. */
function fill(root: string, layer: string, points: readonly MountPoint[]): boolean {
  const tree = new Beneath(root);
  let made = false;
  try {
    const look = treeLookup(tree);
    for (const p of points) {
      const parts = resolvePath(look, p.destination);
      if (parts.length === 0 || KERNEL_MOUNTS.has(parts[0]!)) continue;
      const missing = parts.findIndex((_, i) => !lstatAt(tree, parts.slice(0, i + 1)));
      if (missing < 0) continue;
      mkdirSync(layer, { recursive: true });
      for (let i = 0; i < parts.length; i++) {
        const at = join(layer, ...parts.slice(0, i + 1));
        const last = i === parts.length - 1;
        if (existsSync(at)) continue;
        if (i < missing) {
          // A folder the image has: the same mode and owner, which the merged folder takes.
          const st = lstatAt(tree, parts.slice(0, i + 1))!;
          mkdirSync(at);
          chmodSync(at, st.mode & 0o7777);
          chownSync(at, st.uid, st.gid);
        } else if (!last || p.dir) mkdirSync(at, { mode: 0o755 });
        else closeSync(openSync(at, 'wx', 0o644));
      }
      made = true;
    }
  } finally {
    tree.close();
  }
  return made;
}

/** The mounts with `layer` as their top lower folder. */
export function withInitLayer<M extends { options: string[] }>(mounts: readonly M[], layer: string): M[] {
  return mounts.map((m) => ({
    ...m,
    options: m.options.map((o) => (o.startsWith('lowerdir=') ? `lowerdir=${layer}:${o.slice(9)}` : o)),
  }));
}

/** Removes the init layers of an image (when the image goes). */
export function removeInitLayers(root: string, imageId: string): void {
  rmSync(folderOf(root, imageId), { recursive: true, force: true });
}
