/**
 * Folders and files only root may read: engine state holds secrets (registry credentials,
 * container environments, Kubernetes Secrets). A mode given at creation is not enough: a
 * folder or file that already exists (made by hand, by an older version, or with a loose
 * umask) keeps its mode, so every start sets it again.
 */
import { chmodSync, closeSync, openSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { invalidArgument } from './errors.js';
import { makeDirs } from './make-dirs.js';

/**
 * Makes `dir` (and missing parents) if needed, then sets it to 0700. A folder the whole
 * system uses (`/`, a top-level folder such as /tmp or /run, or any shared sticky folder)
 * is refused rather than locked: `--root /tmp` must not take /tmp from every other user.
 */
export function ensurePrivateDir(dir: string): void {
  makeDirs(dir, 0o700);
  const full = resolve(dir);
  const st = statSync(full);
  if (dirname(full) === '/' || (st.mode & 0o1000) !== 0)
    throw invalidArgument(
      `Folder "${dir}" is shared with the rest of the system; give Berth a folder of its own, such as ${join(full === '/' ? '/var/lib' : full, 'berth')}`,
    );
  chmodSync(full, 0o700);
}

/**
 * Sets `file` to 0600, creating it empty when missing (so a library that creates it later
 * does not use its own mode). `companions` (such as SQLite's -wal and -shm files) are set to
 * 0600 when they exist; SQLite makes missing ones with the main file's mode.
 */
export function ensurePrivateFile(file: string, companions: readonly string[] = []): void {
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  for (const c of companions) {
    try {
      chmodSync(c, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}
