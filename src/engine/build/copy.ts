/**
 * COPY and ADD: choosing source files from a root (the build context, or another stage's or
 * image's root filesystem for `--from`), hashing what they hold for the layer cache, and
 * writing them into a step's root filesystem with Docker's rules (a folder's contents are
 * copied, not the folder; several sources need a folder destination; `--chown`, `--chmod`).
 *
 * Nothing outside either root is ever read or written: every name is resolved from an open
 * directory fd (Beneath); a symlink named as a source is followed inside its root only (an
 * absolute target starts again at that root, `..` stops at it, as BuildKit scopes it); a
 * symlink met while walking a folder is copied as a symlink; a source path that climbs out
 * of the context (`../x`) is refused.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  type Stats,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { posix } from 'node:path';
import { invalidArgument, notFound } from '../../core/errors.js';
import { type CopyRules, copyEntry, treeSource } from '../fs/copy-tree.js';
import { lstatAt, resolveInRoot } from '../fs/resolve.js';
import { Beneath } from '../snapshot/beneath.js';
import type { IgnoreRules } from './dockerignore.js';

const O_READ = constants.O_RDONLY | constants.O_NOFOLLOW;

/** Where sources come from. */
export interface SourceRoot {
  dir: string;
  /** The context's .dockerignore (absent for another stage's root). */
  ignore?: IgnoreRules;
  /** Words for errors: "build context" or "stage builder". */
  what: string;
}

/** One chosen source: a path below its root (symlinks resolved), or an inline file (heredoc, URL). */
export interface SourceItem {
  /** The name it gets inside a destination folder. */
  name: string;
  parts?: string[];
  inline?: { data: Buffer; mode: number; mtime?: Date };
  /** A wildcard chose it (then the destination is a folder, as with several sources). */
  wildcard?: boolean;
}

const hasWildcard = (p: string) => /[*?[]/.test(p);

/** Picks the sources `patterns` name in `root`, refusing paths out of it and missing ones. */
export function selectSources(root: SourceRoot, patterns: readonly string[], cmd: string): SourceItem[] {
  const tree = new Beneath(root.dir);
  try {
    const out: SourceItem[] = [];
    for (const pattern of patterns) {
      const clean = posix.normalize(pattern.replace(/^\/+/, ''));
      if (clean === '..' || clean.startsWith('../'))
        throw invalidArgument(`${cmd} failed: forbidden path outside the ${root.what}: ${pattern}`);
      const rel = clean === '.' ? '' : clean.replace(/\/+$/, '');
      if (hasWildcard(rel)) {
        const re = globRegExp(rel);
        const found: SourceItem[] = [];
        walk(tree, [], root.ignore, (parts) => {
          const p = parts.join('/');
          if (!re.test(p)) return true;
          found.push({ name: parts[parts.length - 1]!, parts, wildcard: true });
          return false;
        });
        if (found.length === 0)
          throw notFound(`${cmd} failed: no source files were specified (${pattern} matched nothing)`);
        out.push(...found);
        continue;
      }
      const missing = () =>
        notFound(
          `${cmd} failed: file not found in ${root.what} or excluded by .dockerignore: stat ${pattern}: file does not exist`,
        );
      if (rel !== '' && root.ignore?.ignores(rel)) throw missing();
      let parts: string[];
      try {
        parts = resolveInRoot(tree, rel);
      } catch (e) {
        throw notFound(`${cmd} failed: ${(e as Error).message}`, e);
      }
      if (parts.length > 0 && !lstatAt(tree, parts)) throw missing();
      out.push({ name: parts[parts.length - 1] ?? '', parts });
    }
    return out;
  } finally {
    tree.close();
  }
}

/** `*`, `?` and `[...]` within one component (Go's filepath.Match). */
function globRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) throw invalidArgument(`bad pattern "${pattern}": unclosed [`);
      const cls = pattern.slice(i + 1, end);
      re += `[${cls.startsWith('^') || cls.startsWith('!') ? `^${cls.slice(1)}` : cls}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += /[.+^${}()|\]\\/]/.test(c) ? `\\${c}` : c;
  }
  return new RegExp(`${re}$`, 's');
}

const refuser = (where: string) => (why: string) => invalidArgument(`Cannot copy "${where}": ${why}`);

/**
 * Visits the entries below `parts` (not `parts` itself), parents first, names sorted,
 * leaving out ignored ones; `visit` returns whether to descend into a folder.
 */
function walk(
  tree: Beneath,
  parts: string[],
  ignore: IgnoreRules | undefined,
  visit: (parts: string[], st: Stats) => boolean,
): void {
  tree.trim();
  const dir = tree.dir(parts, false, refuser(parts.join('/')));
  const names = readdirSync(`/proc/self/fd/${dir}`).sort();
  for (const n of names) {
    const child = [...parts, n];
    const rel = child.join('/');
    const st = lstatSync(tree.at(tree.dir(parts, false, refuser(rel)), n));
    // An ignored folder is still walked when an exception (`!`) may bring back something in it.
    const ignored = ignore?.ignores(rel) ?? false;
    if (ignored && !(st.isDirectory() && ignore?.hasExclusions)) continue;
    const descend = ignored ? true : visit(child, st);
    if (descend && st.isDirectory()) walk(tree, child, ignore, visit);
  }
}

/**
 * The cache checksum of what `items` hold: names, types, modes, link targets and file bytes
 * (never times or owners, as BuildKit's content checksums), in a stable order.
 */
export function checksumSources(root: SourceRoot, items: readonly SourceItem[]): string {
  const hash = createHash('sha256');
  const tree = new Beneath(root.dir);
  const buf = Buffer.allocUnsafe(1 << 16);
  try {
    const entry = (label: string, st: Stats, parts: string[]) => {
      hash.update(`${label}\0${st.mode.toString(8)}\0`);
      if (st.isSymbolicLink())
        hash.update(
          readlinkSync(tree.at(tree.dir(parts.slice(0, -1), false, refuser(label)), parts.at(-1)!)),
        );
      else if (st.isFile()) {
        const fd = openSync(
          tree.at(tree.dir(parts.slice(0, -1), false, refuser(label)), parts.at(-1)!),
          O_READ,
        );
        try {
          for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) hash.update(buf.subarray(0, n));
        } finally {
          closeSync(fd);
        }
      }
      hash.update('\n');
    };
    for (const item of items) {
      if (item.inline) {
        hash
          .update(`inline ${item.name}\0${item.inline.mode.toString(8)}\0`)
          .update(item.inline.data)
          .update('\n');
        continue;
      }
      const parts = item.parts!;
      const st = lstatAt(tree, parts)!;
      entry(`item ${parts.join('/')}`, st, parts);
      if (!st.isDirectory()) continue;
      walk(tree, parts, root.ignore, (child, cst) => {
        entry(child.slice(parts.length).join('/'), cst, child);
        return true;
      });
    }
  } finally {
    tree.close();
  }
  return `sha256:${hash.digest('hex')}`;
}

/** Ownership and mode for what COPY writes: `--chown` (0:0 without it) and `--chmod`. */
export interface CopyMode {
  uid: number;
  gid: number;
  /** `--chmod`: replaces the mode of every file and folder copied. */
  mode?: number;
  /** Called after each file is written, with its size (progress on long copies). */
  onFile?: (bytes: number) => void;
}

/**
 * Copies `items` into the root filesystem at `rootDir` to `dest` (absolute inside it).
 * Returns the destination folder's parts when the sources went into a folder.
 */
export function copyInto(
  source: SourceRoot | undefined,
  items: readonly SourceItem[],
  rootDir: string,
  dest: string,
  own: CopyMode,
): void {
  const from = source ? new Beneath(source.dir) : undefined;
  const to = new Beneath(rootDir);
  try {
    const srcStats = items.map((i) => (i.inline ? undefined : lstatAt(from!, i.parts!)));
    const intoDir =
      dest.endsWith('/') ||
      items.length > 1 ||
      items.some((i) => i.wildcard) ||
      lstatAt(to, resolveInRoot(to, dest))?.isDirectory() === true;
    const destParts = resolveInRoot(to, dest);
    items.forEach((item, i) => {
      const st = srcStats[i];
      if (st?.isDirectory()) {
        ensureDir(to, destParts, own);
        copyTree(from!, item.parts!, to, destParts, own, source?.ignore, item.parts!);
        return;
      }
      const target = intoDir ? [...destParts, item.name] : destParts;
      if (target.length === 0) throw invalidArgument(`Cannot copy "${item.name}" over the root folder`);
      const parent = ensureDir(to, target.slice(0, -1), own);
      if (item.inline) writeInline(to, parent, target, item.inline, own);
      else copyEntry(treeSource(from!, item.parts!), st!, to, target, rulesOf(own));
    });
  } finally {
    from?.close();
    to.close();
  }
}

/** The folder at `parts`, made (with `own`'s owner) where it is missing. */
function ensureDir(tree: Beneath, parts: string[], own: CopyMode): number {
  for (let i = 1; i <= parts.length; i++) {
    const sub = parts.slice(0, i);
    if (tree.find(sub) !== undefined) continue;
    const parent = tree.dir(sub.slice(0, -1), false, refuser(sub.join('/')));
    const st = lstatAt(tree, sub);
    if (st) throw invalidArgument(`Cannot copy into "/${sub.join('/')}": it is not a folder`);
    mkdirSync(tree.at(parent, sub[i - 1]!), 0o755);
    const fd = tree.dir(sub, false, refuser(sub.join('/')));
    fchownSync(fd, own.uid, own.gid);
  }
  return tree.dir(parts, false, refuser(parts.join('/')));
}

/** Copies the contents of the source folder `srcParts` into the folder `destParts`. */
function copyTree(
  from: Beneath,
  srcParts: string[],
  to: Beneath,
  destParts: string[],
  own: CopyMode,
  ignore: IgnoreRules | undefined,
  base: string[],
): void {
  walk(from, srcParts, ignore, (child, st) => {
    const target = [...destParts, ...child.slice(base.length)];
    // The parent may be an ignored folder walked only for a `!` exception: made here.
    ensureDir(to, target.slice(0, -1), own);
    copyEntry(treeSource(from, child), st, to, target, rulesOf(own));
    return true;
  });
  // Folder modes and times last: writing their children changed them.
  walk(from, srcParts, ignore, (child, st) => {
    if (!st.isDirectory()) return false;
    const target = [...destParts, ...child.slice(base.length)];
    const fd = to.dir(target, false, refuser(target.join('/')));
    fchmodSync(fd, own.mode ?? st.mode & 0o7777);
    futimesSync(fd, st.atime, st.mtime);
    return true;
  });
}

/** The shared copier's rules for COPY: `--chown` (0:0 without it), `--chmod`, special files left out. */
const rulesOf = (own: CopyMode): CopyRules => ({
  owner: { uid: own.uid, gid: own.gid },
  ...(own.mode !== undefined ? { mode: own.mode } : {}),
  special: 'skip',
  ...(own.onFile ? { onFile: own.onFile } : {}),
});

/** Writes an inline file (a heredoc, a URL's body) at `target`. */
function writeInline(
  to: Beneath,
  parent: number,
  target: string[],
  meta: { data: Buffer; mode: number; mtime?: Date },
  own: CopyMode,
): void {
  const name = target[target.length - 1]!;
  const existing = lstatAt(to, target);
  if (existing?.isDirectory())
    throw invalidArgument(`Cannot copy over "/${target.join('/')}", which is a folder`);
  if (existing) unlinkSync(to.at(parent, name));
  const out = to.createFile(parent, name, 0o600);
  try {
    for (let off = 0; off < meta.data.length; ) off += writeSync(out, meta.data, off);
    own.onFile?.(meta.data.length);
    // Owner first: chown clears set-id bits.
    fchownSync(out, own.uid, own.gid);
    fchmodSync(out, own.mode ?? meta.mode);
    if (meta.mtime) futimesSync(out, meta.mtime, meta.mtime);
  } finally {
    closeSync(out);
  }
}

/** The host path of a folder inside `rootDir` (symlinks resolved inside it), made if missing. */
export function folderIn(rootDir: string, dest: string, own: CopyMode): string {
  const tree = new Beneath(rootDir);
  try {
    const parts = resolveInRoot(tree, dest);
    ensureDir(tree, parts, own);
    return posix.join(rootDir, ...parts);
  } finally {
    tree.close();
  }
}

/** The host path of a source item (for ADD's archive check), read through its root's fds only. */
export function openSource(root: SourceRoot, item: SourceItem): { fd: number; close(): void } {
  const tree = new Beneath(root.dir);
  try {
    const parts = item.parts!;
    const fd = openSync(
      tree.at(tree.dir(parts.slice(0, -1), false, refuser(parts.join('/'))), parts.at(-1)!),
      O_READ,
    );
    return { fd, close: () => closeSync(fd) };
  } finally {
    tree.close();
  }
}
