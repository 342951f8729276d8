/**
 * A per-container mutex between processes (a `start`, conmon's exit command, `stop`, `rm`),
 * so that the exit command of a previous run never unmounts or deletes a run that has just
 * started. The lock is a file made with O_EXCL holding the owner's pid; a lock whose owner
 * died (`kill -9`) is taken over, so a crash never wedges a container.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../../core/errors.js';
import { pidAlive } from './exit-watch.js';
import type { StorePaths } from './paths.js';

/**
 * Removes a lock file, gone already or not. unlink() alone: rmSync() walks the rimraf path
 * (lstat, then unlink, with retries) for every lock a pod's start, stop and exit take.
 */
function release(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

function tryTake(path: string): boolean {
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  let owner = 0;
  try {
    owner = Number(readFileSync(path, 'utf8'));
  } catch {
    return false; // released meanwhile; try again
  }
  // An empty file is a lock being written right now; only a dead owner's lock is taken over.
  if (owner > 0 && owner !== process.pid && !pidAlive(owner)) release(path);
  return false;
}

/** Runs `fn` holding container `id`'s lock (waiting up to `timeoutMs`, default 60 s). */
export async function withContainerLock<T>(
  s: StorePaths,
  id: string,
  fn: () => Promise<T>,
  timeoutMs = 60_000,
): Promise<T> {
  const dir = join(s.runroot, 'locks');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, id);
  const deadline = Date.now() + timeoutMs;
  while (!tryTake(path)) {
    if (Date.now() > deadline)
      throw new BerthError(
        'DeadlineExceeded',
        `Container ${id.slice(0, 12)} is busy (locked by another berth process)`,
      );
    await new Promise((r) => setTimeout(r, 10));
  }
  try {
    return await fn();
  } finally {
    release(path);
  }
}
