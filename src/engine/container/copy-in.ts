/**
 * Writes host files into a container's root filesystem without ever leaving it: every name is
 * resolved from an open directory fd (see Beneath), symlinks inside the container are
 * followed the way the container would see them (an absolute target starts again at the
 * container's root, `..` stops at it), and nothing is written, chmod-ed, chown-ed or
 * time-stamped through a symlink.
 */
import {
  closeSync,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  type Stats,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { invalidArgument, notFound } from '../../core/errors.js';
import { run } from '../../core/exec.js';
import { Beneath } from '../snapshot/beneath.js';

/** Symlinks followed in one path before giving up, as the kernel's MAXSYMLINKS. */
const MAX_LINKS = 40;

function split(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

/**
 * The path `inner` as the container sees it, with its symlinks resolved inside the root:
 * the components returned are real directories, except the last, which may be missing or a
 * non-directory. A missing component before the last is kept as given.
 */
export function resolveInRoot(tree: Beneath, inner: string): string[] {
  const refuse = (why: string) => invalidArgument(`Cannot resolve "${inner}" in the container: ${why}`);
  const todo = split(inner);
  const out: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === '..') {
      out.pop();
      continue;
    }
    const path = tree.at(tree.dir(out, false, refuse), c);
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      out.push(c);
      // What follows a missing name is taken as written (only `..` is resolved).
      for (const rest of todo)
        if (rest === '..') out.pop();
        else out.push(rest);
      return out;
    }
    if (!st.isSymbolicLink()) {
      out.push(c);
      if (!st.isDirectory() && todo.length > 0) throw refuse(`"/${out.join('/')}" is not a directory`);
      continue;
    }
    if (++links > MAX_LINKS) throw refuse('too many levels of symbolic links');
    const target = readlinkSync(path);
    if (target.startsWith('/')) out.length = 0;
    todo.unshift(...split(target));
  }
  return out;
}

/**
 * `cp HOST CONTAINER:PATH` into the root filesystem at `root`, with Docker's rules: into an
 * existing directory the source goes under its own name; otherwise it becomes `inner`, whose
 * parent must exist. Owners, modes and times are kept; symlinks in the source are copied as
 * symlinks; hard links become separate files.
 */
export async function copyIntoRoot(hostSrc: string, root: string, inner: string): Promise<void> {
  const src = lstatSync(hostSrc);
  const tree = new Beneath(root);
  try {
    const refuse = (why: string) => invalidArgument(`Cannot copy to "${inner}" in the container: ${why}`);
    let parts = resolveInRoot(tree, inner);
    // No parts left: the path named the root itself.
    const dest = parts.length > 0 ? lstatAt(tree, parts) : lstatSync(root);
    if (dest?.isDirectory()) parts = [...parts, basename(hostSrc)];
    else if (inner.endsWith('/')) {
      if (!dest) throw notFound(`The folder "${inner}" does not exist in the container`);
      throw refuse('it is not a folder');
    }
    if (parts.length === 0) throw refuse('the root itself cannot be replaced');
    const parentParts = parts.slice(0, -1);
    let parent: number;
    try {
      parent = tree.dir(parentParts, false, refuse);
    } catch (e) {
      throw notFound(`The folder "/${parentParts.join('/')}" does not exist in the container`, e);
    }
    await copyEntry(tree, hostSrc, src, parent, parts);
  } finally {
    tree.close();
  }
}

function lstatAt(tree: Beneath, parts: string[]): Stats | undefined {
  const dir = tree.find(parts.slice(0, -1));
  if (dir === undefined) return undefined;
  try {
    return lstatSync(tree.at(dir, parts[parts.length - 1]!));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Copies one host entry to `parts` (its parent is the directory fd `parent`). */
async function copyEntry(tree: Beneath, hostPath: string, st: Stats, parent: number, parts: string[]) {
  tree.trim();
  const name = parts[parts.length - 1]!;
  const path = tree.at(parent, name);
  const where = `/${parts.join('/')}`;
  const existing = lstatAt(tree, parts);
  if (st.isDirectory()) {
    if (existing && !existing.isDirectory())
      throw invalidArgument(`Cannot copy the folder ${hostPath} over "${where}", which is not a folder`);
    if (!existing) mkdirSync(path, 0o700);
    const refuse = (why: string) => invalidArgument(`Cannot copy into "${where}": ${why}`);
    for (const child of readdirSync(hostPath)) {
      const childPath = join(hostPath, child);
      await copyEntry(tree, childPath, lstatSync(childPath), tree.dir(parts, false, refuse), [
        ...parts,
        child,
      ]);
    }
    const fd = tree.dir(parts, false, refuse);
    fchownSync(fd, st.uid, st.gid);
    fchmodSync(fd, st.mode & 0o7777);
    futimesSync(fd, st.atime, st.mtime);
    return;
  }
  if (existing?.isDirectory())
    throw invalidArgument(`Cannot copy ${hostPath} over "${where}", which is a folder`);
  if (existing) unlinkSync(path);
  if (st.isFile()) {
    const out = tree.createFile(parent, name, 0o600);
    try {
      copyFileContent(hostPath, out);
      // Owner first: chown clears set-id bits.
      fchownSync(out, st.uid, st.gid);
      fchmodSync(out, st.mode & 0o7777);
      futimesSync(out, st.atime, st.mtime);
    } finally {
      closeSync(out);
    }
  } else if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(hostPath), path);
    lchownSync(path, st.uid, st.gid);
    lutimesSync(path, st.atime, st.mtime);
  } else if (st.isFIFO()) {
    await run('mkfifo', ['-m', (st.mode & 0o777).toString(8), tree.forChild(parent, name)]);
    lchownSync(path, st.uid, st.gid);
  } else {
    throw invalidArgument(`Cannot copy ${hostPath}: device nodes and sockets are not copied into containers`);
  }
}

/** The bytes of a host file into `out`. */
function copyFileContent(hostPath: string, out: number): void {
  const input = openSync(hostPath, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    for (let n = readSync(input, buf); n > 0; n = readSync(input, buf)) {
      for (let off = 0; off < n; ) off += writeSync(out, buf, off, n - off);
    }
  } finally {
    closeSync(input);
  }
}
