/**
 * Connecting a terminal to a container: output by following conmon's k8s-file log (which
 * keeps stdout and stderr apart and works after the fact), input by writing to conmon's
 * attach socket through `socat`, because that socket is SOCK_SEQPACKET and Node's `net`
 * cannot open it. Terminal size changes go to conmon's `ctl` fifo. Resolves with the exit
 * status when the container stops.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { followLog } from '../runtime/k8s-log.js';
import { detectRuntime, runtimeKill } from '../runtime/oci-runtime.js';
import type { EngineContext } from './context.js';
import { waitForExitFile } from './exit-watch.js';
import { containerPaths } from './paths.js';
import type { ContainerRecord } from './store.js';

/** Streams to connect; defaults are the process's own. */
export interface AttachOptions {
  /** Forward this process's stdin to the container (needs the container made with -i). */
  stdin: boolean;
  /** Show the log from its start (for `run`) rather than from now (for `attach`). */
  fromStart: boolean;
  /** Show the log from this byte offset (for `start -a`: the log's size before the start). */
  fromOffset?: number;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

/** Tells conmon this terminal's size (a no-op when stdout is not a terminal). */
export function resize(bundle: string): void {
  const { rows, columns } = process.stdout;
  if (!rows || !columns) return;
  try {
    const fd = openSync(join(bundle, 'ctl'), 'w');
    writeSync(fd, `1 ${rows} ${columns}\n`);
    closeSync(fd);
  } catch {
    /* the container is gone */
  }
}

/** Attaches until the container exits; returns its exit status (undefined if unknown). */
export async function attachContainer(
  ctx: EngineContext,
  rec: ContainerRecord,
  o: AttachOptions,
): Promise<number | undefined> {
  const paths = containerPaths(ctx, rec.id);
  const out = o.stdout ?? process.stdout;
  const err = o.stderr ?? process.stderr;
  let start = o.fromOffset ?? 0;
  if (!o.fromStart && o.fromOffset === undefined) {
    try {
      start = statSync(paths.log).size;
    } catch {
      start = 0;
    }
  }
  const follower = followLog(paths.log, start, (e) =>
    (e.stream === 'stderr' && !rec.config.tty ? err : out).write(e.data),
  );
  let bridge: ReturnType<typeof spawn> | undefined;
  let restoreTty: (() => void) | undefined;
  if (o.stdin && rec.config.openStdin) {
    if (rec.config.tty && process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      resize(paths.bundle);
      const onResize = () => resize(paths.bundle);
      process.stdout.on('resize', onResize);
      restoreTty = () => {
        process.stdout.off('resize', onResize);
        process.stdin.setRawMode(false);
      };
    }
    // socat copies our stdin into the attach socket; the relative path dodges the 108-byte
    // limit of socket paths. When stdin ends, conmon closes the container's stdin. conmon
    // misses an end that follows the data too closely, so the end is passed on a moment late.
    bridge = spawn('socat', ['-u', 'STDIN', 'UNIX-CONNECT:attach,so-type=5'], {
      cwd: paths.bundle,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    bridge.on('error', () => {});
    const sink = bridge.stdin!;
    sink.on('error', () => {});
    process.stdin.pipe(sink, { end: false });
    process.stdin.on('end', () => setTimeout(() => sink.end(), 100));
  }
  // Like Docker's sig-proxy: signals to this process go to the container's process.
  const runtime = detectRuntime(ctx.runroot, rec.config.runtime);
  const forward = (sig: NodeJS.Signals) => void runtimeKill(runtime, rec.id, sig).catch(() => {});
  const signals: NodeJS.Signals[] = rec.config.tty
    ? []
    : ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  for (const s of signals) process.on(s, forward);
  try {
    const r = await waitForExitFile(paths, rec.pid);
    return r.code;
  } finally {
    for (const s of signals) process.off(s, forward);
    follower.stop();
    restoreTty?.();
    if (bridge) {
      process.stdin.unpipe();
      process.stdin.destroy();
      if (bridge.exitCode === null) bridge.kill();
    }
  }
}

/** The log's current size: where output of a run that starts now will begin. */
export function logOffset(ctx: EngineContext, id: string): number {
  try {
    return statSync(containerPaths(ctx, id).log).size;
  } catch {
    return 0;
  }
}
