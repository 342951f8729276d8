/**
 * Where a container's image comes from: the image store (through the `ResolvedImage` seam),
 * or a plain folder given with `--rootfs` (used as the one read-only layer, as Podman's
 * `--rootfs` does, but under an overlay so the folder itself is never written).
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { invalidArgument } from '../../core/errors.js';
import type { ImageStore } from '../image/image-store.js';
import { resolveImage } from '../image/resolve.js';
import type { ResolvedImage } from '../image/resolved-image.js';
import type { ContainerConfig } from './config.js';

/** A folder as an image with an empty config. */
export function rootfsImage(dir: string): ResolvedImage {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory())
    throw invalidArgument(`The --rootfs folder "${dir}" does not exist or is not a folder`);
  return {
    id: `sha256:${createHash('sha256').update(abs).digest('hex')}`,
    name: abs,
    config: {},
    lowerDirs: async () => [abs],
  };
}

/** Finds an image by name, ID or ID prefix in the image store (NotFound: `No such image`). */
export async function storeImage(store: ImageStore, ref: string): Promise<ResolvedImage> {
  return resolveImage(store, ref);
}

/** The image a stored container was made from (to mount its layers at start). */
export async function imageOf(store: ImageStore, config: ContainerConfig): Promise<ResolvedImage> {
  if (config.rootfs) return rootfsImage(config.rootfs);
  return storeImage(store, config.imageId);
}
