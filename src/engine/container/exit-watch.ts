/**
 * Noticing that a container exited: conmon writes EXIT_DIR/ID with the exit status. Waiting
 * uses inotify on the exit folder (no polling latency), plus a slow check that the
 * container's process still exists, for when conmon itself was killed and no file comes.
 */
import { existsSync, readFileSync, watch } from 'node:fs';
import type { ContainerPaths } from './paths.js';

/** The exit status conmon recorded, or undefined while there is none. */
export function readExitFile(paths: ContainerPaths): number | undefined {
  // Usually absent (a running container): a look costs less than a failed read's exception,
  // and listings look for every running container.
  if (!existsSync(paths.exitFile)) return undefined;
  try {
    const text = readFileSync(paths.exitFile, 'utf8').trim();
    const n = Number.parseInt(text, 10);
    return Number.isNaN(n) ? undefined : n;
  } catch {
    return undefined;
  }
}

/** True when a process with this pid exists and is not a zombie (a dead, unreaped child). */
export function pidAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name, which may itself hold spaces.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * Resolves with the exit status once the exit file exists, or undefined when `pid` is gone
 * without one, or when `timeoutMs` passes (then `timedOut` is true), or when `signal`
 * aborts (then `aborted` is true).
 */
export function waitForExitFile(
  paths: ContainerPaths,
  pid: number,
  timeoutMs?: number,
  signal?: AbortSignal,
): Promise<{ code?: number; timedOut: boolean; aborted?: boolean }> {
  return new Promise((resolve) => {
    let done = false;
    const onAbort = () => finish({ timedOut: false, aborted: true });
    const finish = (r: { code?: number; timedOut: boolean; aborted?: boolean }) => {
      if (done) return;
      done = true;
      watcher?.close();
      clearInterval(poll);
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const check = () => {
      const code = readExitFile(paths);
      if (code !== undefined) finish({ code, timedOut: false });
    };
    let watcher: ReturnType<typeof watch> | undefined;
    try {
      watcher = watch(paths.exitDir, (_ev, file) => {
        if (!file || file === paths.exitFile.slice(paths.exitDir.length + 1)) check();
      });
    } catch {
      /* the folder vanished; the poll below still works */
    }
    const poll = setInterval(() => {
      check();
      if (!done && !pidAlive(pid) && !existsSync(paths.exitFile)) {
        // Give conmon a moment to write the file after the process is reaped.
        setTimeout(() => {
          check();
          finish({ code: readExitFile(paths), timedOut: false });
        }, 300);
      }
    }, 500);
    const timer =
      timeoutMs !== undefined ? setTimeout(() => finish({ timedOut: true }), timeoutMs) : undefined;
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort);
    check();
  });
}
