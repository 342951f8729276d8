/**
 * Resolving a path the way a container (or a build context) sees it, without ever leaving its
 * root: symlinks are followed by reading them, an absolute target starts again at the root and
 * `..` stops there. The lookups go through a {@link PathLookup}, so the same rules serve a
 * single tree (one Beneath) and a container's tree with its volumes and bind mounts in it.
 */
import { fstatSync, lstatSync, readlinkSync, type Stats } from 'node:fs';
import { invalidArgument } from '../../core/errors.js';
import type { Beneath } from '../snapshot/beneath.js';

/** Symlinks followed in one path before giving up, as the kernel's MAXSYMLINKS. */
const MAX_LINKS = 40;

/** How a resolver sees a tree: lookups by components below its root, never following the last one. */
export interface PathLookup {
  /** The entry at `parts` itself (a symlink is not followed); undefined when it is missing. */
  lstat(parts: readonly string[]): Stats | undefined;
  /** The target of the symlink at `parts`. */
  readlink(parts: readonly string[]): string;
}

/** The components of a path, without empty ones and `.`. */
export function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

/** The entry at `parts` in `tree` (the root itself for no parts), undefined when missing. */
export function lstatAt(tree: Beneath, parts: readonly string[]): Stats | undefined {
  if (parts.length === 0) return fstatSync(tree.dir([], false, (why) => invalidArgument(why)));
  const dir = tree.find(parts.slice(0, -1));
  if (dir === undefined) return undefined;
  try {
    return lstatSync(tree.at(dir, parts[parts.length - 1]!));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** A {@link PathLookup} over one tree. */
export function treeLookup(tree: Beneath): PathLookup {
  return {
    lstat: (parts) => lstatAt(tree, parts),
    readlink: (parts) =>
      readlinkSync(
        tree.at(
          tree.dir(parts.slice(0, -1), false, (why) => invalidArgument(why)),
          parts[parts.length - 1]!,
        ),
      ),
  };
}

/**
 * The path `inner` with its symlinks resolved inside the root: the components returned are
 * real directories, except the last, which may be missing or a non-directory (with
 * `followLast` false, a symlink too). What follows a missing component is taken as written.
 */
export function resolvePath(look: PathLookup, inner: string, followLast = true): string[] {
  const refuse = (why: string) => invalidArgument(`Cannot resolve "${inner}" in the container: ${why}`);
  const todo = splitPath(inner);
  const out: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === '..') {
      out.pop();
      continue;
    }
    const st = look.lstat([...out, c]);
    if (!st) {
      out.push(c);
      for (const rest of todo)
        if (rest === '..') out.pop();
        else out.push(rest);
      return out;
    }
    if (!st.isSymbolicLink() || (!followLast && todo.length === 0)) {
      out.push(c);
      if (!st.isDirectory() && todo.length > 0) throw refuse(`"/${out.join('/')}" is not a directory`);
      continue;
    }
    if (++links > MAX_LINKS) throw refuse('too many levels of symbolic links');
    const target = look.readlink([...out, c]);
    if (target.startsWith('/')) out.length = 0;
    todo.unshift(...splitPath(target));
  }
  return out;
}

/** {@link resolvePath} in one tree. */
export function resolveInRoot(tree: Beneath, inner: string, followLast = true): string[] {
  return resolvePath(treeLookup(tree), inner, followLast);
}
