/**
 * Reading and copying out of a container's (or an image's) root filesystem from the host,
 * with the container's symlink rules: the path is resolved inside the root (resolve.ts) and
 * every entry is reached through the root's open directory fds (Beneath), so an image that
 * makes /etc/passwd, /etc or a volume's mount point a symlink to a host path is read as the
 * container would read it, never as the host path.
 */
import { closeSync, constants, fchmodSync, fchownSync, openSync, readSync } from 'node:fs';
import { invalidArgument } from '../../core/errors.js';
import { Beneath } from '../snapshot/beneath.js';
import { type CopyRules, copyTree, treeSource } from './copy-tree.js';
import { lstatAt, resolveInRoot } from './resolve.js';

const O_READ = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * The start (at most `maxBytes`) of the regular file at the container path `inner` in
 * `root`; '' when it is missing or not a regular file (a FIFO or device is never opened).
 */
export function readFileInRoot(root: string, inner: string, maxBytes = 1 << 20): string {
  const tree = new Beneath(root);
  try {
    const parts = resolveInRoot(tree, inner);
    if (parts.length === 0 || !lstatAt(tree, parts)?.isFile()) return '';
    const dir = tree.dir(parts.slice(0, -1), false, (why) => invalidArgument(why));
    return readHead(tree.at(dir, parts[parts.length - 1]!), maxBytes);
  } finally {
    tree.close();
  }
}

/**
 * The start (at most `maxBytes`) of the file at `path` as text, never through a symlink at
 * its last name and never blocking on a FIFO: for files a container can write, which may be
 * any size.
 */
export function readHead(path: string, maxBytes: number): string {
  const fd = openSync(path, O_READ);
  try {
    const buf = Buffer.alloc(maxBytes);
    let n = 0;
    for (let r = 1; r > 0 && n < maxBytes; n += r) r = readSync(fd, buf, n, maxBytes - n, null);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Copies the folder at the container path `inner` in `root` into the folder `dest` (its
 * contents, then its owner and mode, as `cp -a inner/. dest`), when it is a folder that is
 * not empty. Returns whether anything was copied. Device nodes, FIFOs and sockets are left out.
 */
export function copyFolderOutOfRoot(root: string, inner: string, dest: string): boolean {
  const from = new Beneath(root);
  const to = new Beneath(dest);
  try {
    const parts = resolveInRoot(from, inner);
    const st = lstatAt(from, parts);
    if (!st?.isDirectory()) return false;
    const src = treeSource(from, parts, '');
    if (src.children().length === 0) return false;
    const rules: CopyRules = { special: 'skip' };
    copyTree(src, to, [], rules);
    const fd = to.dir([], false, (why) => invalidArgument(why));
    fchownSync(fd, st.uid, st.gid);
    fchmodSync(fd, st.mode & 0o7777);
    return true;
  } finally {
    from.close();
    to.close();
  }
}
