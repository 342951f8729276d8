/**
 * Log rotation for `--log-opt max-size=N --log-opt max-file=M` (M > 1), as Docker's json-file
 * driver keeps its logs: the live file `ctr.log` and up to M-1 rotated ones, `ctr.log.1`
 * (newest) to `ctr.log.<M-1>` (oldest), which `logs` reads in order.
 *
 * conmon writes the log and can only truncate it when full (`--log-size-max`), so with more
 * than one file a monitor process rotates instead (started with the container, ending when
 * its exit file appears; see monitor-process.ts): when the live file reaches max-size it
 * renames the files one place up and asks conmon, through its `ctl` fifo, to reopen its log.
 * conmon keeps writing to the renamed file until it has reopened, so no line is lost; a file
 * may pass max-size by what was written meanwhile.
 */
import {
  closeSync,
  constants,
  existsSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  watch,
  writeSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { logger } from '../../core/log.js';
import type { ContainerConfig } from './config.js';
import type { EngineContext } from './context.js';
import { waitForExitFile } from './exit-watch.js';
import { startMonitorProcess } from './monitor-process.js';
import { containerPaths } from './paths.js';
import type { ContainerRecord } from './store.js';

const log = logger('log-rotate');

/** The rotation a container's log config asks for, or undefined when conmon's truncation does. */
export function logRotation(config: ContainerConfig): { maxSize: number; maxFile: number } | undefined {
  const maxFile = Number(config.log?.options['max-file'] ?? 1);
  const maxSize = config.log?.maxSize;
  return maxSize && maxFile > 1 ? { maxSize, maxFile } : undefined;
}

/** A log's files, oldest first: the rotated ones that exist (`path.N` ... `path.1`), then `path`. */
export function logFiles(path: string): string[] {
  const rotated: string[] = [];
  for (let i = 1; existsSync(`${path}.${i}`); i++) rotated.push(`${path}.${i}`);
  return [...rotated.reverse(), path];
}

/** Shifts `path.1`... one place up (dropping the oldest beyond `maxFile` files) and moves `path` to `path.1`. */
export function shiftLogFiles(path: string, maxFile: number): void {
  rmSync(`${path}.${maxFile - 1}`, { force: true });
  for (let i = maxFile - 2; i >= 1; i--)
    if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
  renameSync(path, `${path}.1`);
}

/** Asks the container's conmon to reopen its log (message 2 on its `ctl` fifo, as podman sends it). */
function reopenLog(bundle: string): void {
  // Non-blocking: with conmon gone (the container just ended) the open fails instead of waiting forever.
  const fd = openSync(join(bundle, 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK);
  try {
    writeSync(fd, '2 0 0\n');
  } finally {
    closeSync(fd);
  }
}

/** Starts the rotation monitor of a container that needs one. Called right after the runtime's start. */
export function startLogMonitor(ctx: EngineContext, rec: ContainerRecord): void {
  if (logRotation(rec.config)) startMonitorProcess(ctx, 'log-rotate', rec.id);
}

/** The monitor: rotates the log whenever it reaches max-size, for as long as this run lasts. */
export async function monitorLogRotation(
  ctx: EngineContext,
  id: string,
  signal?: AbortSignal,
): Promise<void> {
  const rec = ctx.containers.get(id);
  const rotation = logRotation(rec.config);
  if (!rotation) return;
  const paths = containerPaths(ctx, id);
  const check = () => {
    try {
      if (statSync(paths.log).size < rotation.maxSize) return;
      shiftLogFiles(paths.log, rotation.maxFile);
      reopenLog(paths.bundle);
    } catch (e) {
      // No live file between our rename and conmon's reopen (ENOENT), no conmon once the run ended (ENXIO).
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENXIO') log.warn('log rotation failed', { id, err: e });
    }
  };
  const name = basename(paths.log);
  const watcher = watch(paths.dir, (_event, file) => {
    if (file === name) check();
  });
  // The folder goes when the container is removed; the exit file ends the wait just as well.
  watcher.on('error', (e) => log.debug('log folder watch ended', { id, err: e }));
  // inotify may coalesce or miss events on some file systems: a slow poll as a safety net.
  const poll = setInterval(check, 1000);
  check();
  try {
    await waitForExitFile(paths, rec.pid, undefined, signal);
  } finally {
    watcher.close();
    clearInterval(poll);
  }
}
