/**
 * subPath mounts without trusting what the volume holds (the kubelet's subpath_linux.go):
 * the path is resolved beneath the volume's root, following symlinks inside the volume but
 * refusing any that leads out of it, then opened one component at a time with O_NOFOLLOW
 * (src/engine/snapshot/beneath.ts), and the open file descriptor itself is bind-mounted on
 * a mount point under the pod's folder. A symlink swapped in by the container between the
 * check and the mount can therefore not redirect the mount to a file outside the volume.
 */
import { closeSync, constants, lstatSync, mkdirSync, openSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { run } from '../../../core/exec.js';
import { Beneath } from '../../../engine/snapshot/beneath.js';
import { isMounted } from '../../../engine/snapshot/mount.js';
import { ConfigError } from '../container-config.js';

/** At most this many symlinks on the way, as the kernel allows (ELOOP). */
const MAX_LINKS = 40;

/** The real components of `sub` below `root` (symlinks inside the volume followed), and whether it exists. */
export function resolveBeneath(root: string, sub: string): { parts: string[]; exists: boolean } {
  const refuse = (why: string) => new ConfigError(`subPath "${sub}" ${why}`);
  if (sub.startsWith('/')) throw refuse('must be a relative path');
  if (sub.split('/').includes('..')) throw refuse('may not contain ".."');
  const queue = sub.split('/').filter((c) => c && c !== '.');
  const parts: string[] = [];
  let links = 0;
  while (queue.length) {
    const c = queue.shift()!;
    if (c === '..') {
      if (!parts.length) throw refuse('leads out of its volume through a symlink');
      parts.pop();
      continue;
    }
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(`${root}/${[...parts, c].join('/')}`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (queue.includes('..')) throw refuse('leads out of its volume through a symlink');
      return { parts: [...parts, c, ...queue], exists: false };
    }
    if (!st.isSymbolicLink()) {
      parts.push(c);
      continue;
    }
    if (++links > MAX_LINKS) throw refuse('has too many levels of symbolic links');
    const target = readlinkSync(`${root}/${[...parts, c].join('/')}`);
    if (target.startsWith('/')) throw refuse('leads out of its volume through an absolute symlink');
    queue.unshift(...target.split('/').filter((x) => x && x !== '.'));
  }
  return { parts, exists: true };
}

const O_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const O_FILE = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Bind-mounts `sub` of the volume at `root` on `target` (made as a file or a folder to match),
 * making `sub` as a folder when it does not exist (as the kubelet does). A `target` already
 * mounted is kept: a restarted agent or container reuses it.
 */
export async function bindSubPath(root: string, sub: string, target: string): Promise<void> {
  if (isMounted(target)) return;
  const { parts, exists } = resolveBeneath(root, sub);
  const refuse = (why: string) => new ConfigError(`subPath "${sub}": ${why}`);
  const tree = new Beneath(root);
  // A folder's fd belongs to `tree` (closed with it); a file's is ours.
  let fileFd: number | undefined;
  try {
    let fd: number;
    if (!exists || !parts.length) fd = tree.dir(parts, true, refuse);
    else {
      const parent = tree.dir(parts.slice(0, -1), false, refuse);
      const at = tree.at(parent, parts[parts.length - 1]!);
      try {
        fd = openSync(at, O_DIR);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw refuse((e as Error).message);
        fd = fileFd = openSync(at, O_FILE);
      }
    }
    const isDir = fileFd === undefined;
    mkdirSync(dirname(target), { recursive: true, mode: 0o750 });
    if (isDir) mkdirSync(target, { recursive: true });
    else writeFileSync(target, '', { flag: 'a' });
    // The fd, not a path: whatever the volume's tree looks like by now, this is the file checked above.
    const fdOfs = isDir ? tree.forChild(fd) : `/proc/${process.pid}/fd/${fd}`;
    await run('mount', ['--no-canonicalize', '--bind', fdOfs, target]);
  } finally {
    if (fileFd !== undefined) closeSync(fileFd);
    tree.close();
  }
}
