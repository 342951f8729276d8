/** Carries out a snapshotter's mounts (mount(8)), and undoes them. */
import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { internal } from '../../core/errors.js';
import { run } from '../../core/exec.js';
import type { Mount } from './snapshotter.js';

/** True when `path` is a mount point (read from /proc/self/mountinfo, no process spawned). */
export function isMounted(path: string): boolean {
  const info = readFileSync('/proc/self/mountinfo', 'utf8');
  const escaped = path.replace(/ /g, '\\040');
  // The table holds a few lines per pod on a node: find candidates with a native search and
  // split only their lines (the path may also appear as another mount's root, field 4).
  const needle = ` ${escaped} `;
  for (let i = info.indexOf(needle); i >= 0; i = info.indexOf(needle, i + 1)) {
    const start = info.lastIndexOf('\n', i) + 1;
    const end = info.indexOf('\n', i);
    if (info.slice(start, end < 0 ? undefined : end).split(' ')[4] === escaped) return true;
  }
  return false;
}

/** Mount points at or below `dir` in this process's mount table, deepest first. */
export function mountsBelow(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const p = line.split(' ')[4]?.replace(/\\040/g, ' ');
    if (p && (p === dir || p.startsWith(`${dir}/`))) out.push(p);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Mounts each of `mounts` on `target`, in order. */
export async function mountAll(mounts: readonly Mount[], target: string): Promise<void> {
  for (const m of mounts) {
    const options = m.options.join(',');
    // The kernel takes at most one page of mount options.
    if (options.length > 4000) throw internal(`Too many layers to mount (${options.split(':').length})`);
    if (m.type === 'bind') {
      await run('mount', ['--bind', m.source, target]);
      if (m.options.includes('ro')) await run('mount', ['-o', 'remount,bind,ro', target]);
      continue;
    }
    await run('mount', ['-t', m.type, m.source, '-o', options, target]);
  }
}

/**
 * True when an overlay (or any file system other than its parent's) is mounted on `path`,
 * from two stat calls. An overlay always has a device of its own, so for a container's root
 * file system this is exact, and it spares reading the mount table, which the kernel writes
 * out afresh on every read and which holds several lines per pod on a node.
 */
export function hasOwnFileSystem(path: string): boolean {
  try {
    return statSync(path).dev !== statSync(dirname(path)).dev;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Unmounts the overlay on `target` if there is one; a busy one is detached lazily. */
export async function unmountOverlay(target: string): Promise<void> {
  while (hasOwnFileSystem(target)) {
    const r = await run('umount', [target], { check: false });
    if (r.code !== 0 && hasOwnFileSystem(target)) {
      await run('umount', ['-l', target], { check: false });
      return;
    }
  }
}

/** Unmounts `target` if mounted; a busy mount is detached lazily. */
export async function unmount(target: string): Promise<void> {
  while (isMounted(target)) {
    const r = await run('umount', [target], { check: false });
    if (r.code !== 0 && isMounted(target)) {
      await run('umount', ['-l', target], { check: false });
      return;
    }
  }
}
