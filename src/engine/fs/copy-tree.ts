/**
 * The one fd-relative copier: every entry is read through an open directory fd of its source
 * tree (a regular file opened with O_NOFOLLOW, a symlink read, never followed) and written
 * through an open directory fd of the destination tree (Beneath), so a symlink planted on
 * either side can never send a read or a write outside its root. `COPY`/`ADD` in builds and
 * `cp` in and out of containers (with volumes and bind mounts) all go through here.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
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
import { invalidArgument } from '../../core/errors.js';
import type { Beneath } from '../snapshot/beneath.js';
import { lstatAt } from './resolve.js';

const O_READ = constants.O_RDONLY | constants.O_NOFOLLOW;

/** One entry to copy from, however its tree is put together. */
export interface CopySource {
  /** Its name (the last component). */
  readonly name: string;
  /** Words for errors. */
  readonly label: string;
  /** The entry itself (a symlink is not followed). */
  lstat(): Stats;
  /** Opens a regular file for reading (never through a symlink). */
  open(): number;
  readlink(): string;
  /** A folder's entries, sorted by name. */
  children(): CopySource[];
  /** Lets its tree close directory fds it no longer needs (between entries). */
  trim(): void;
}

const refuser = (label: string) => (why: string) => invalidArgument(`Cannot copy "${label}": ${why}`);

/** The entry at `parts` of `tree` as a source; `label` prefixes its path in errors. */
export function treeSource(tree: Beneath, parts: readonly string[], label = ''): CopySource {
  const where = `${label}/${parts.join('/')}`;
  const name = parts[parts.length - 1] ?? '';
  const path = () => {
    if (parts.length === 0) throw invalidArgument(`Cannot copy "${where}": it is the root folder`);
    return tree.at(tree.dir(parts.slice(0, -1), false, refuser(where)), name);
  };
  return {
    name,
    label: where,
    lstat: () => (parts.length === 0 ? fstatSync(tree.dir([], false, refuser(where))) : lstatSync(path())),
    open: () => openSync(path(), O_READ),
    readlink: () => readlinkSync(path()),
    children: () =>
      readdirSync(`/proc/self/fd/${tree.dir(parts, false, refuser(where))}`)
        .sort()
        .map((n) => treeSource(tree, [...parts, n], label)),
    trim: () => tree.trim(),
  };
}

/** Who owns what is written, its mode, and what to do with entries that are not files, folders or symlinks. */
export interface CopyRules {
  /** A fixed owner (COPY --chown); without it the source's owner is kept. */
  owner?: { uid: number; gid: number };
  /** A fixed mode for files and folders (COPY --chmod); without it the source's. */
  mode?: number;
  /** FIFOs, sockets and device nodes: all left out (`skip`), or FIFOs made again and the others refused. */
  special: 'skip' | 'fifo';
  /** Called after each regular file is written, with its size. */
  onFile?: (bytes: number) => void;
}

const ownerOf = (st: Stats, rules: CopyRules) => rules.owner ?? { uid: st.uid, gid: st.gid };
const modeOf = (st: Stats, rules: CopyRules) => rules.mode ?? st.mode & 0o7777;

/** Copies a file's bytes from `input` to `out`; returns how many. */
export function copyBytes(input: number, out: number): number {
  const buf = Buffer.allocUnsafe(1 << 20);
  let total = 0;
  for (let n = readSync(input, buf); n > 0; n = readSync(input, buf)) {
    for (let off = 0; off < n; ) off += writeSync(out, buf, off, n - off);
    total += n;
  }
  return total;
}

/**
 * Copies one entry (not a folder's contents) to `target` in `to`, whose parent folder must
 * exist. A folder is made if missing (its mode is set again by {@link copyTree} once its
 * children are written); anything else replaces what is at `target`, unless that is a folder.
 */
export function copyEntry(src: CopySource, st: Stats, to: Beneath, target: string[], rules: CopyRules): void {
  const name = target[target.length - 1]!;
  const where = `/${target.join('/')}`;
  const parent = to.dir(target.slice(0, -1), false, refuser(where));
  const path = to.at(parent, name);
  const existing = lstatAt(to, target);
  const own = ownerOf(st, rules);
  if (st.isDirectory()) {
    if (existing && !existing.isDirectory())
      throw invalidArgument(`Cannot copy the folder "${src.label}" over "${where}", which is not a folder`);
    if (!existing) mkdirSync(path, 0o700);
    const fd = to.dir(target, false, refuser(where));
    fchownSync(fd, own.uid, own.gid);
    fchmodSync(fd, modeOf(st, rules));
    return;
  }
  if (!st.isFile() && !st.isSymbolicLink()) {
    if (rules.special === 'skip') return;
    if (!st.isFIFO())
      throw invalidArgument(`Cannot copy "${src.label}": device nodes and sockets are not copied`);
  }
  if (existing?.isDirectory())
    throw invalidArgument(`Cannot copy "${src.label}" over "${where}", which is a folder`);
  if (existing) unlinkSync(path);
  if (st.isFile()) {
    const out = to.createFile(parent, name, 0o600);
    try {
      const input = src.open();
      try {
        // Not as the argument of `onFile?.()`, which would skip it when there is no callback.
        const bytes = copyBytes(input, out);
        rules.onFile?.(bytes);
      } finally {
        closeSync(input);
      }
      // Owner first: chown clears set-id bits.
      fchownSync(out, own.uid, own.gid);
      fchmodSync(out, modeOf(st, rules));
      futimesSync(out, st.atime, st.mtime);
    } finally {
      closeSync(out);
    }
  } else if (st.isSymbolicLink()) {
    symlinkSync(src.readlink(), path);
    lchownSync(path, own.uid, own.gid);
    lutimesSync(path, st.atime, st.mtime);
  } else {
    // A FIFO (Node has no mkfifo): made by name through our own fd, so no symlink is followed.
    const r = spawnSync('mkfifo', ['-m', (st.mode & 0o777).toString(8), to.forChild(parent, name)], {
      encoding: 'utf8',
    });
    if (r.status !== 0)
      throw new Error(`Cannot make the FIFO "${where}": ${(r.stderr || r.error?.message) ?? ''}`);
    lchownSync(path, own.uid, own.gid);
  }
}

/**
 * Copies `src` with everything below it to `target` in `to` (no parts: into the root itself,
 * merging). Folder modes and times are set last, as writing their children changed them.
 */
export function copyTree(src: CopySource, to: Beneath, target: string[], rules: CopyRules): void {
  to.trim();
  src.trim();
  const st = src.lstat();
  if (target.length > 0) copyEntry(src, st, to, target, rules);
  else if (!st.isDirectory())
    throw invalidArgument(`Cannot copy "${src.label}" over the root folder, which is a folder`);
  if (!st.isDirectory()) return;
  for (const child of src.children()) copyTree(child, to, [...target, child.name], rules);
  if (target.length === 0) return;
  const fd = to.dir(target, false, refuser(`/${target.join('/')}`));
  fchmodSync(fd, modeOf(st, rules));
  futimesSync(fd, st.atime, st.mtime);
}

/**
 * Writes a regular file's bytes over the file `path` in place (a file bind-mounted into a
 * running container, such as its /etc/hosts, must keep its inode). `path` is never followed
 * if it is a symlink.
 */
export function overwriteFile(src: CopySource, path: string): void {
  const out = openSync(path, constants.O_WRONLY | constants.O_TRUNC | constants.O_NOFOLLOW);
  try {
    const input = src.open();
    try {
      copyBytes(input, out);
    } finally {
      closeSync(input);
    }
  } finally {
    closeSync(out);
  }
}
