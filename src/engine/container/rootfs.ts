/**
 * A container's root filesystem: an overlay mount of its image's layers (read-only, top-most
 * first) under its own upper and work folders, at ROOT/containers/ID/merged. Mounted at
 * start, unmounted when the container stops or is removed.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { internal } from '../../core/errors.js';
import { run } from '../../core/exec.js';
import type { ContainerPaths } from './paths.js';

/** True when `path` is a mount point (read from /proc/self/mountinfo, no process spawned). */
export function isMounted(path: string): boolean {
  const info = readFileSync('/proc/self/mountinfo', 'utf8');
  const escaped = path.replace(/ /g, '\\040');
  for (const line of info.split('\n')) if (line.split(' ')[4] === escaped) return true;
  return false;
}

/** Mounts the overlay unless it is mounted already. */
export async function mountRootfs(paths: ContainerPaths, lowerDirs: readonly string[]): Promise<void> {
  if (isMounted(paths.merged)) return;
  for (const d of [paths.upper, paths.work, paths.merged]) mkdirSync(d, { recursive: true });
  const options = `lowerdir=${lowerDirs.join(':')},upperdir=${paths.upper},workdir=${paths.work}`;
  // The kernel takes at most one page of mount options.
  if (options.length > 4000) throw internal(`Too many image layers to mount (${lowerDirs.length})`);
  await run('mount', ['-t', 'overlay', 'overlay', '-o', options, paths.merged]);
}

/** Unmounts the overlay if mounted; a busy mount is detached lazily. */
export async function unmountRootfs(paths: ContainerPaths): Promise<void> {
  if (!isMounted(paths.merged)) return;
  const r = await run('umount', [paths.merged], { check: false });
  if (r.code !== 0 && isMounted(paths.merged)) await run('umount', ['-l', paths.merged], { check: false });
}
