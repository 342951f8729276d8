/**
 * The container state machine after `start`: reading the truth (reconcile), recording an
 * exit and applying the restart policy (conmon's exit command), stop, kill, wait, remove.
 * Every state change is a compare-and-set in the database, so concurrent `berth` processes
 * and a `kill -9` at any point leave a record the next command can fix by reconciling.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { conflict, invalidArgument, unlessNotFound } from '../../core/errors.js';
import { detectRuntime, runtimeAwaitsStart, runtimeKill } from '../runtime/oci-runtime.js';
import { cgroupsPathFor } from '../runtime/oci-spec.js';
import type { EngineContext } from './context.js';
import { containerEvent } from './events.js';
import { pidAlive, readExitFile, waitForExitFile } from './exit-watch.js';
import { withContainerLock } from './lock.js';
import { wasOomKilled } from './oom.js';
import { containerPaths } from './paths.js';
import { thawIfPaused } from './pause.js';
import { releaseRun } from './release.js';
import { removeContainerSnapshot } from './rootfs.js';
import { startContainer } from './start.js';
import type { ContainerRecord } from './store.js';

/**
 * Brings a record in line with the machine: a container whose exit file exists has exited;
 * one whose process and conmon are gone without an exit file (its conmon was killed) has exited with 255;
 * one a crashed `start` left running is running, but one it left between the runtime's
 * `create` and `start` stays created (`start` finishes it). Cheap: file reads and kill(pid, 0).
 */
export function reconcile(ctx: EngineContext, rec: ContainerRecord): ContainerRecord {
  const paths = containerPaths(ctx, rec.id);
  if (rec.state === 'created' && existsSync(paths.pidFile)) {
    const pid = Number(readFileSync(paths.pidFile, 'utf8').trim());
    const awaitsStart = runtimeAwaitsStart(detectRuntime(ctx.runroot, rec.config.runtime), rec.id);
    if (!awaitsStart && pidAlive(pid) && readExitFile(paths) === undefined)
      return (
        ctx.containers.update(rec.id, { state: 'running', pid, startedAt: new Date().toISOString() }, [
          'created',
        ]) ?? rec
      );
  }
  if (rec.state !== 'running' && rec.state !== 'paused') return rec;
  const code = readExitFile(paths);
  if (code !== undefined) return recordExit(ctx, rec, code) ?? ctx.containers.get(rec.id);
  if (pidAlive(rec.pid)) return rec;
  // The process is gone but its conmon is still writing the exit file: not yet exited
  // (reading it as a dead conmon would record 255 for a container that exited with its code).
  if (existsSync(paths.conmonPidFile) && pidAlive(Number(readFileSync(paths.conmonPidFile, 'utf8').trim())))
    return rec;
  const died = ctx.containers.update(
    rec.id,
    {
      state: 'exited',
      exitCode: 255,
      pid: 0,
      finishedAt: new Date().toISOString(),
      error: 'the container monitor (conmon) died',
    },
    ['running', 'paused'],
  );
  if (died) containerEvent(ctx, died, 'die', { exitCode: '255' });
  return died ?? ctx.containers.get(rec.id);
}

/**
 * Records the exit once: whichever process moves the record out of its run journals the `die`.
 * A container its restart policy brings back goes straight to `restarting`, with the restart
 * counted, as dockerd shows it from the moment of the exit (`Restarting (N) ...` in ps), not
 * `exited` until conmon's exit command gets to it. A `restarting` record has recorded its exit
 * already: it is not a from-state, so a second look neither counts nor journals again.
 */
function recordExit(ctx: EngineContext, rec: ContainerRecord, code: number): ContainerRecord | undefined {
  const paths = containerPaths(ctx, rec.id);
  const oomKilled = wasOomKilled(paths.bundle, code, cgroupsPathFor(rec.id, rec.config.cgroupParent));
  const restart = !rec.config.autoRemove && shouldRestart({ ...rec, exitCode: code });
  const r = ctx.containers.update(
    rec.id,
    {
      state: restart ? 'restarting' : 'exited',
      exitCode: code,
      pid: 0,
      finishedAt: new Date().toISOString(),
      oomKilled,
      ...(restart ? { restartCount: rec.restartCount + 1 } : {}),
    },
    ['running', 'paused', 'created'],
  );
  if (r) {
    if (oomKilled) containerEvent(ctx, r, 'oom');
    containerEvent(ctx, r, 'die', { exitCode: String(code) });
  }
  return r;
}

/** Looks a container up and reconciles it. */
export function getContainer(ctx: EngineContext, ref: string): ContainerRecord {
  return reconcile(ctx, ctx.containers.get(ref));
}

/** All containers (or those `keep` keeps before reconciling, on what does not change with state), reconciled. */
export function listContainers(
  ctx: EngineContext,
  keep?: (r: ContainerRecord) => boolean,
  labels: readonly (readonly [string, string | undefined])[] = [],
): ContainerRecord[] {
  const rows = ctx.containers.list(labels);
  return (keep ? rows.filter(keep) : rows).map((r) => reconcile(ctx, r));
}

/** Releases what a stopped container holds: the runtime's record, the mount, the network. */
function teardown(ctx: EngineContext, rec: ContainerRecord): Promise<void> {
  return releaseRun(ctx, rec.id, detectRuntime(ctx.runroot, rec.config.runtime));
}

function shouldRestart(rec: ContainerRecord): boolean {
  const p = rec.config.restart;
  if (rec.stoppedByUser || p.name === 'no') return false;
  if (p.name === 'on-failure')
    return rec.exitCode !== 0 && (p.maximumRetryCount === 0 || rec.restartCount < p.maximumRetryCount);
  return true;
}

/** Docker's back-off: 100 ms doubling per restart, at most a minute. */
export function restartDelayMs(restartCount: number): number {
  return Math.min(60_000, 100 * 2 ** Math.min(restartCount, 10));
}

/**
 * After the container's process exited (conmon's exit command, or `stop`/`run` inline):
 * records the exit status, releases the mount, then removes the container (`--rm`) or
 * restarts it by its policy after a back-off. Safe to run twice at once.
 */
export async function cleanupAfterExit(ctx: EngineContext, ref: string): Promise<void> {
  const found = ctx.containers.find(ref);
  if (!found) return;
  const rec = await withContainerLock(ctx, found.id, async () => {
    const now = ctx.containers.find(found.id);
    // No exit file: a new run has started since (start removes it); leave that run alone.
    const code = readExitFile(containerPaths(ctx, found.id));
    if (!now || code === undefined) return undefined;
    const r = recordExit(ctx, now, code) ?? ctx.containers.find(found.id);
    if (!r || r.state === 'running') return undefined;
    // A `run --rm` that died while removing left it here: finish that removal below.
    if (r.state === 'removing') return r.config.autoRemove ? r : undefined;
    await teardown(ctx, r);
    return r;
  });
  if (!rec) return;
  if (rec.config.autoRemove) {
    // `run --rm` in the foreground removes it too; whoever comes second finds nothing.
    await unlessNotFound(removeContainer(ctx, rec.id, { force: true, volumes: true }));
    return;
  }
  // The exit was recorded as `restarting` when the policy brings it back (recordExit); the
  // count already holds this restart. A second cleanup of the same exit may get here too: the
  // start finds it running and leaves it.
  if (rec.state !== 'restarting') return;
  await new Promise((r) => setTimeout(r, restartDelayMs(rec.restartCount - 1)));
  const now = ctx.containers.find(rec.id);
  if (now?.state !== 'restarting') return;
  try {
    await startContainer(ctx, now);
  } catch {
    ctx.containers.update(rec.id, { state: 'exited' }, ['restarting']);
  }
}

/** Waits for the container to stop; returns its exit status. `signal` rejects with its reason. */
export async function waitContainer(ctx: EngineContext, ref: string, signal?: AbortSignal): Promise<number> {
  let rec = getContainer(ctx, ref);
  if (rec.state === 'running') {
    const r = await waitForExitFile(containerPaths(ctx, rec.id), rec.pid, undefined, signal);
    if (r.aborted) throw signal?.reason;
    if (r.code !== undefined) return r.code;
    rec = getContainer(ctx, rec.id);
  }
  return rec.exitCode;
}

/** Sends a signal; the container must be running. */
export async function killContainer(ctx: EngineContext, ref: string, signal = 'SIGKILL'): Promise<void> {
  const rec = await thawIfPaused(ctx, getContainer(ctx, ref));
  if (rec.state !== 'running')
    throw conflict(`Cannot kill container: ${ref}: Container ${rec.id} is not running`);
  ctx.containers.update(rec.id, { stoppedByUser: true });
  const sig = normaliseSignal(signal);
  killEvent(ctx, rec, sig);
  await runtimeKill(detectRuntime(ctx.runroot, rec.config.runtime), rec.id, sig);
}

/**
 * The `kill` event, with the signal's number as dockerd gives it (`15`, not `SIGTERM`); journaled
 * before the signal is sent, so that it comes before the `die` the exit command journals.
 */
function killEvent(ctx: EngineContext, rec: ContainerRecord, sig: string): void {
  const n = /^\d+$/.test(sig) ? sig : constants.signals[sig as keyof typeof constants.signals];
  containerEvent(ctx, rec, 'kill', { signal: String(n ?? sig) });
}

/** `SIGTERM`, `TERM`, `15` -> what runc accepts; an unknown name is refused with Docker's words. */
export function normaliseSignal(sig: string): string {
  if (/^\d+$/.test(sig)) {
    if (Number(sig) < 1 || Number(sig) > 64) throw invalidArgument(`Invalid signal: ${sig}`);
    return sig;
  }
  const up = sig.toUpperCase();
  const name = up.startsWith('SIG') ? up : `SIG${up}`;
  // Real-time signals (SIGRTMIN+3) are not in Node's table; runc knows them.
  if (!(name in constants.signals) && !/^SIGRT(MIN|MAX)([+-]\d+)?$/.test(name))
    throw invalidArgument(`Invalid signal: ${sig}`);
  return name;
}

/**
 * Stops: the stop signal, then SIGKILL after `timeoutSec`; then records the exit and
 * releases the mount before returning. A stopped container is left as it is.
 */
export async function stopContainer(ctx: EngineContext, ref: string, timeoutSec?: number): Promise<void> {
  const rec = await thawIfPaused(ctx, getContainer(ctx, ref));
  if (rec.state === 'restarting') {
    ctx.containers.update(rec.id, { state: 'exited', stoppedByUser: true }, ['restarting']);
    return;
  }
  if (rec.state !== 'running') return;
  ctx.containers.update(rec.id, { stoppedByUser: true });
  const runtime = detectRuntime(ctx.runroot, rec.config.runtime);
  const paths = containerPaths(ctx, rec.id);
  const timeout = timeoutSec ?? rec.config.stopTimeout;
  if (timeout > 0) {
    const stopSignal = normaliseSignal(rec.config.stopSignal);
    killEvent(ctx, rec, stopSignal);
    await runtimeKill(runtime, rec.id, stopSignal);
    const r = await waitForExitFile(paths, rec.pid, timeout * 1000);
    if (!r.timedOut) {
      await cleanupAfterExit(ctx, rec.id);
      containerEvent(ctx, rec, 'stop');
      return;
    }
  }
  killEvent(ctx, rec, 'SIGKILL');
  await runtimeKill(runtime, rec.id, 'SIGKILL', true);
  await waitForExitFile(paths, rec.pid, 10_000);
  await cleanupAfterExit(ctx, rec.id);
  containerEvent(ctx, rec, 'stop');
}

/** Options for {@link removeContainer}. */
export interface RemoveOptions {
  /** Kill a running container first. */
  force?: boolean;
  /** Also remove the container's anonymous volumes. */
  volumes?: boolean;
}

/** Removes a container, its files and (with `volumes`) its anonymous volumes. */
export async function removeContainer(ctx: EngineContext, ref: string, o: RemoveOptions = {}): Promise<void> {
  const found = getContainer(ctx, ref);
  const rec = o.force ? await thawIfPaused(ctx, found) : found;
  if (rec.state === 'paused')
    throw conflict(
      `You cannot remove a paused container ${rec.id}. Unpause and then stop the container before attempting removal or force remove`,
    );
  const runtime = detectRuntime(ctx.runroot, rec.config.runtime);
  const paths = containerPaths(ctx, rec.id);
  if (rec.state === 'running' || rec.state === 'restarting') {
    if (!o.force)
      throw conflict(
        `You cannot remove a running container ${rec.id}. Stop the container before attempting removal or force remove`,
      );
    ctx.containers.update(rec.id, { stoppedByUser: true });
    if (rec.state === 'running') {
      killEvent(ctx, rec, 'SIGKILL');
      await runtimeKill(runtime, rec.id, 'SIGKILL', true);
      await waitForExitFile(paths, rec.pid, 10_000);
      // The exit is recorded (and its `die` journaled) before the record goes.
      reconcile(ctx, ctx.containers.get(rec.id));
    }
  }
  await withContainerLock(ctx, rec.id, async () => {
    ctx.containers.update(rec.id, { state: 'removing' });
    await releaseRun(ctx, rec.id, runtime);
  });
  await removeContainerSnapshot(ctx, rec.id);
  rmSync(paths.dir, { recursive: true, force: true });
  rmSync(paths.bundle, { recursive: true, force: true });
  if (o.volumes) {
    for (const m of rec.config.mounts)
      if (m.type === 'volume' && m.anonymous && ctx.volumes.find(m.source))
        ctx.volumes.remove(m.source, [], true);
  }
  // A `run --rm` is removed by its front end and by conmon's exit command at once: the one
  // that deletes the record journals the `destroy`.
  if (ctx.containers.delete(rec.id)) containerEvent(ctx, rec, 'destroy');
  // Last: while the exit file is there, the removal is unfinished and conmon's exit command
  // of a `run --rm` whose process died completes it (see run.ts).
  rmSync(paths.exitFile, { force: true });
}
