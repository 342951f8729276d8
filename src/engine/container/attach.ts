/**
 * Connecting a terminal to a container: output by following conmon's k8s-file log (which
 * keeps stdout and stderr apart and works after the fact), input by writing to conmon's
 * attach socket through `socat`, because that socket is SOCK_SEQPACKET and Node's `net`
 * cannot open it. Terminal size changes go to conmon's `ctl` fifo. Resolves with the exit
 * status when the container stops. The streams are the caller's (see streams.ts).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { logger } from '../../core/log.js';
import { followLog } from '../runtime/k8s-log.js';
import type { EngineContext } from './context.js';
import { waitForExitFile } from './exit-watch.js';
import { containerPaths } from './paths.js';
import type { ContainerRecord } from './store.js';
import type { ContainerStreams, TerminalSize } from './streams.js';

const log = logger('attach');

/** What {@link attachContainer} connects, and from where in the output it starts. */
export interface AttachOptions extends ContainerStreams {
  /** Show the log from its start (for `run`) rather than from now (for `attach`). */
  fromStart: boolean;
  /** Show the log from this byte offset (for `start -a`: the log's size before the start). */
  fromOffset?: number;
  /** Detaches (the container keeps running); the result is then undefined. */
  signal?: AbortSignal;
}

/** Tells conmon the terminal's size through the bundle's `ctl` fifo. */
export function resize(bundle: string, size: TerminalSize | undefined): void {
  if (!size?.rows || !size.columns) return;
  try {
    const fd = openSync(join(bundle, 'ctl'), 'w');
    writeSync(fd, `1 ${size.rows} ${size.columns}\n`);
    closeSync(fd);
  } catch (e) {
    // The container is gone (no fifo, or no reader): there is no terminal left to size.
    log.debug('resize failed', { bundle, err: e as Error });
  }
}

/**
 * Attaches until the container exits; returns its exit status (undefined if unknown or
 * detached by `signal`). Signals for the container (sig-proxy) are the front end's to send.
 */
export async function attachContainer(
  ctx: EngineContext,
  rec: ContainerRecord,
  o: AttachOptions,
): Promise<number | undefined> {
  const paths = containerPaths(ctx, rec.id);
  let start = o.fromOffset ?? 0;
  if (!o.fromStart && o.fromOffset === undefined) start = logOffset(ctx, rec.id);
  const follower = followLog(paths.log, start, (e) =>
    (e.stream === 'stderr' && !rec.config.tty ? o.stderr : o.stdout).write(e.data),
  );
  let unsubscribe: (() => void) | undefined;
  if (rec.config.tty) {
    // Subscribe first: a front end replays the latest size it has at once, and only that one is
    // written. Two sizes written back to back (kubectl sends a larger one to force a redraw, then
    // the real one) could reach conmon in one read, and the terminal kept the first.
    let latest = o.initialSize;
    let started = false;
    unsubscribe = o.onResize?.((size) => {
      latest = size;
      if (started) resize(paths.bundle, size);
    });
    started = true;
    resize(paths.bundle, latest);
  }
  const input = rec.config.openStdin ? o.stdin : undefined;
  let bridge: ReturnType<typeof spawn> | undefined;
  let endLate: (() => void) | undefined;
  if (input) {
    // socat copies the input into the attach socket; the relative path dodges the 108-byte
    // limit of socket paths. When the input ends, conmon closes the container's stdin. conmon
    // misses an end that follows the data too closely, so the end is passed on a moment late.
    bridge = spawn('socat', ['-u', 'STDIN', 'UNIX-CONNECT:attach,so-type=5'], {
      cwd: paths.bundle,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    bridge.on('error', (e) => log.debug('stdin bridge failed', { id: rec.id, err: e }));
    const sink = bridge.stdin!;
    // The container may exit before it read everything; that is not this call's failure.
    sink.on('error', (e) => log.debug('stdin bridge closed', { id: rec.id, err: e }));
    input.pipe(sink, { end: false });
    endLate = () => setTimeout(() => sink.end(), 100);
    input.once('end', endLate);
  }
  try {
    const r = await waitForExitFile(paths, rec.pid, undefined, o.signal);
    return r.code;
  } finally {
    follower.stop();
    unsubscribe?.();
    if (input && bridge) {
      input.unpipe(bridge.stdin!);
      if (endLate) input.off('end', endLate);
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
