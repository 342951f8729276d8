/**
 * The absolute path of a program named without a slash, found on a PATH once and then kept.
 *
 * Why: execvp() tries each PATH folder in turn, and a server's PATH often starts with
 * folders that hold none of the programs Berth runs (~/.cargo/bin, pyenv shims...): each pod
 * start failed about 30 execve calls with ENOENT before nsenter, unshare, ip and conmon were
 * found. Programs that start others (nsenter, unshare) are given absolute paths as well.
 *
 * The search is execvp's: the first folder holding an executable regular file of that name.
 * A name found nowhere, or not before a relative PATH entry, is returned as it is, so
 * starting it searches (and fails) as it did before. A path that stops working (the
 * program removed or moved) is forgotten by {@link forgetProgramPath}, and searched again.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';

/** What execvp uses when PATH is unset (glibc's default). */
export const DEFAULT_PATH = '/bin:/usr/bin';

/** Found paths by PATH and name; a PATH changes seldom, so this stays small. */
const found = new Map<string, string>();
const MAX_FOUND = 512;

const key = (file: string, path: string) => `${path}\0${file}`;

function isExecutableFile(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * The absolute path `file` runs from on `path` (default: this process's PATH); `file` itself
 * when it holds a slash or is found nowhere.
 */
export function programPath(file: string, path = process.env.PATH ?? DEFAULT_PATH): string {
  if (file.includes('/') || file === '') return file;
  const k = key(file, path);
  const hit = found.get(k);
  if (hit !== undefined) return hit;
  for (const dir of path.split(':')) {
    // A relative folder (or an empty entry, the current one) depends on the working folder:
    // from there on execvp searches, as before.
    if (!dir.startsWith('/')) return file;
    const p = join(dir, file);
    if (!isExecutableFile(p)) continue;
    if (found.size >= MAX_FOUND) found.clear();
    found.set(k, p);
    return p;
  }
  return file;
}

/** Forgets the path found for `file` on `path`, after starting it from there failed. */
export function forgetProgramPath(file: string, path = process.env.PATH ?? DEFAULT_PATH): void {
  found.delete(key(file, path));
}
