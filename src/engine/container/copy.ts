/**
 * `cp`: copies between the host and a container's root filesystem (the overlay mount; it is
 * mounted for the copy when the container is not running). Writes into the container go
 * through copy-in.ts (fd-relative, symlinks resolved inside the root, never followed by a
 * write). Reads refuse a path whose real location leaves the root. Files in volumes are not
 * reached this way.
 */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { invalidArgument, notFound } from '../../core/errors.js';
import { run } from '../../core/exec.js';
import type { EngineContext } from './context.js';
import { copyIntoRoot } from './copy-in.js';
import { imageOf } from './image-source.js';
import { withContainerLock } from './lock.js';
import { containerPaths } from './paths.js';
import { mountRootfs, unmountRootfs } from './rootfs.js';
import type { ContainerRecord } from './store.js';

/** The host path of `inner` inside `root`, refusing anything that escapes it. */
export function pathInRoot(root: string, inner: string): string {
  const p = join(root, normalize(`/${inner}`));
  // Check the real location of the deepest part that exists.
  let probe = p;
  while (!existsSync(probe) && probe !== root) probe = dirname(probe);
  const real = realpathSync(probe);
  const rel = relative(realpathSync(root), real);
  if (rel.startsWith('..'))
    throw invalidArgument(`The path "${inner}" leads outside the container's root filesystem`);
  return p;
}

/**
 * Runs `fn` on the container's root filesystem, mounted for the call when the container is not
 * running. That mount holds the container's lock: the exit command of a run that has just ended
 * (conmon's `container cleanup`) unmounts the same mount point, and without the lock it could
 * unmount ours half-way through an `export` or a `cp`.
 */
export async function withRootfs<T>(
  ctx: EngineContext,
  rec: ContainerRecord,
  fn: (merged: string) => Promise<T>,
): Promise<T> {
  const paths = containerPaths(ctx, rec.id);
  if (rec.state === 'running') return fn(paths.merged);
  return withContainerLock(ctx, rec.id, async () => {
    // The state read before the lock may be stale: a run may have started meanwhile.
    const now = ctx.containers.find(rec.id) ?? rec;
    if (now.state === 'running') return fn(paths.merged);
    await mountRootfs(ctx, paths, rec.id, await imageOf(ctx.images, now.config));
    try {
      return await fn(paths.merged);
    } finally {
      await unmountRootfs(paths);
    }
  });
}

/** Copies `inner` (file or folder) out of the container to `hostDest`. */
export async function copyFromContainer(
  ctx: EngineContext,
  rec: ContainerRecord,
  inner: string,
  hostDest: string,
) {
  await withRootfs(ctx, rec, async (merged) => {
    const src = pathInRoot(merged, inner);
    if (!existsSync(src)) throw notFound(`Could not find the file ${inner} in container ${rec.name}`);
    await run('cp', ['-a', '--', src, hostDest]);
  });
}

/** Copies the host's `hostSrc` into the container at `inner`. */
export async function copyToContainer(
  ctx: EngineContext,
  rec: ContainerRecord,
  hostSrc: string,
  inner: string,
) {
  if (!existsSync(hostSrc)) throw notFound(`Could not find the file ${hostSrc} on the host`);
  await withRootfs(ctx, rec, (merged) => copyIntoRoot(hostSrc, merged, inner));
}
