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
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  watch,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { logger } from '../../core/log.js';
import { splitMarkerPath } from '../runtime/k8s-log.js';
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

/**
 * Splits an oversized `path.1` (what a container wrote before its monitor first looked) into
 * files of at most `maxSize` bytes, cut at line ends (a longer line stays whole), as the
 * driver would have rotated it: the newest part stays `path.1`, older parts and older files
 * move up, and what falls beyond `maxFile` files is dropped. Only a file no one writes to.
 */
export function splitRotatedLog(path: string, maxSize: number, maxFile: number): void {
  const first = `${path}.1`;
  const st = statSync(first, { throwIfNoEntry: false });
  if (!st || st.size <= maxSize) return;
  const splitIno = st.ino;
  const text = readFileSync(first);
  const chunks: Buffer[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + maxSize, text.length);
    if (end < text.length) {
      const nl = text.lastIndexOf(10, end - 1);
      end = nl >= start ? nl + 1 : text.indexOf(10, end) + 1 || text.length;
    }
    chunks.push(text.subarray(start, end));
    start = end;
  }
  const extra = chunks.length - 1;
  // Older rotated files move up by the parts added; those past the last place go.
  for (let i = maxFile - 1; i >= 2; i--) {
    if (!existsSync(`${path}.${i}`)) continue;
    if (i + extra <= maxFile - 1) renameSync(`${path}.${i}`, `${path}.${i + extra}`);
    else rmSync(`${path}.${i}`);
  }
  // chunks are oldest first; path.1 gets the newest. All parts are written first and path.1
  // replaced last, after the note that tells a follower of the old file where its content
  // went (k8s-log.ts): once that file is gone from path.1, everything is in place.
  const places = Math.min(chunks.length, maxFile - 1);
  for (let k = 0; k < places; k++) writeFileSync(`${path}.${k + 1}.tmp`, chunks[chunks.length - 1 - k]!);
  const marker = splitMarkerPath(path);
  writeFileSync(`${marker}.tmp`, `${splitIno} ${statSync(`${first}.tmp`).ino}\n`);
  renameSync(`${marker}.tmp`, marker);
  for (let k = places - 1; k >= 0; k--) renameSync(`${path}.${k + 1}.tmp`, `${path}.${k + 1}`);
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
  // What came before this monitor's first look may be far over max-size: once conmon has
  // moved on from that file (its new live file exists, or it is gone), it is split.
  let firstLook = true;
  let splitPending = false;
  const split = () => {
    splitPending = false;
    try {
      splitRotatedLog(paths.log, rotation.maxSize, rotation.maxFile);
    } catch (e) {
      log.warn('splitting the first rotated log failed', { id, err: e });
    }
  };
  const check = () => {
    const first = firstLook;
    firstLook = false;
    try {
      if (splitPending && existsSync(paths.log)) split();
      if (statSync(paths.log).size < rotation.maxSize) return;
      shiftLogFiles(paths.log, rotation.maxFile);
      splitPending = first;
      reopenLog(paths.bundle);
    } catch (e) {
      // No live file between our rename and conmon's reopen (ENOENT), no conmon once the run ended (ENXIO).
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENXIO' && splitPending) split();
      else if (code !== 'ENOENT' && code !== 'ENXIO') log.warn('log rotation failed', { id, err: e });
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
    // The run ended, so conmon writes no more: a split still waiting for its reopen is done now.
    if (splitPending) split();
  }
}
