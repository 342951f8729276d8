/**
 * Reading and copying out of a container's (or an image's) root filesystem from the host,
 * with the container's symlink rules: the path is resolved inside the root (resolve.ts) and
 * every entry is reached through the root's open directory fds (Beneath), so an image that
 * makes /etc/passwd, /etc or a volume's mount point a symlink to a host path is read as the
 * container would read it, never as the host path.
 */
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, openSync, readSync } from 'node:fs';
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
    // Sized by the file, not by the limit: each container start reads /etc/passwd and
    // /etc/group with a limit of 1 MiB, and a zeroed buffer of that size for a file of a
    // few hundred bytes was most of the cost (and external memory for the GC to count). It
    // grows while the file does (the size may be 0, or change while it is read).
    let buf = Buffer.allocUnsafe(Math.min(maxBytes, Math.max(fstatSync(fd).size + 1, 4096)));
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n >= maxBytes) break;
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes, n * 2));
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    return buf.toString('utf8', 0, n);
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
