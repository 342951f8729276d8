/**
 * A thin wrapper over a runc-compatible OCI runtime (runc, crun): the few subcommands Berth
 * calls itself. conmon runs `create`; everything else goes through here. It holds no state:
 * the runtime keeps its own under RUNROOT/runtime/NAME (its `--root`), so separate Berth
 * stores never see each other's containers.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isCgroupHybrid, isCgroupV2 } from '../../core/cgroup-version.js';
import { invalidArgument, unavailable } from '../../core/errors.js';
import { type RunOptions, type RunResult, run } from '../../core/exec.js';
import type { OwnMountNamespace } from '../../core/own-mount-ns.js';
import { execFifoOf, releaseCrunExecFifo, releaseExecFifo } from './exec-fifo.js';

/** A runtime to run containers with. */
export interface OciRuntime {
  /** Short name (`runc`, `crun`), or the base name of a path. */
  name: string;
  /** Absolute path of the executable. */
  path: string;
  /** The runtime's `--root`, where it keeps its container state. */
  stateRoot: string;
  /**
   * Where every call of it runs: crun on a hybrid cgroup host, in a mount namespace without
   * the v2 hierarchy, which it would refuse (own-mount-ns.ts); undefined for the caller's own.
   */
  mountNamespace?: OwnMountNamespace;
}

const searchPath = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function findExecutable(name: string): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...searchPath];
  for (const d of dirs) {
    const p = join(d, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Picks the runtime: the one named (`runc`, `crun` or a path) when given, otherwise crun on a
 * cgroup v2 host where it is installed, otherwise runc. crun refuses a hybrid host, so there
 * it runs where the host's v2 hierarchy is out of its sight.
 */
export function detectRuntime(runroot: string, requested = ''): OciRuntime {
  let name = requested;
  if (!name) name = isCgroupV2() && findExecutable('crun') ? 'crun' : 'runc';
  const path = findExecutable(name);
  if (!path) {
    if (requested) throw invalidArgument(`Unknown runtime "${requested}": no such program on PATH`);
    throw unavailable(`No OCI runtime found: install runc (or crun on cgroup v2); run scripts/install-deps`);
  }
  const short = name.split('/').pop() ?? name;
  const rt: OciRuntime = { name: short, path, stateRoot: join(runroot, 'runtime', short) };
  if (short === 'crun' && isCgroupHybrid()) rt.mountNamespace = { hideCgroupV2: true };
  return rt;
}

/**
 * Whether the runtime mounts a root file system given as the OCI spec's mount at `/` itself
 * (private-rootfs.ts): runc does; crun takes `/` for no mount point ("mount `overlay` to ``").
 */
export const mountsRootItself = (rt: OciRuntime) => rt.name === 'runc';

/**
 * Whether a TTY `exec` of the runtime passes a resize of its own terminal on to the command's
 * (runc does, on SIGWINCH); crun does not, so the command's terminal is sized directly.
 */
export const passesResizeOn = (rt: OciRuntime) => rt.name === 'runc';

/**
 * Whether the runtime's plain `exec ID CMD` gives the new process the container's process
 * settings: runc does (no_new_privs included); crun leaves no_new_privs off, so its exec gets
 * a whole process spec made from the container's (exec.ts).
 */
export const execKeepsContainerProcess = (rt: OciRuntime) => rt.name === 'runc';

/**
 * Whether the runtime's TTY `exec` runs without a terminal on its stdin (`exec -t` without
 * `-i`): runc does; crun stops at `tcgetattr: Inappropriate ioctl for device`.
 */
export const execTtyWithoutStdin = (rt: OciRuntime) => rt.name === 'runc';

/** Runs one subcommand of the runtime (where {@link OciRuntime.mountNamespace} says). */
export function runRuntime(
  rt: OciRuntime,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return run(rt.path, [...runtimeGlobalArgs(rt), ...args], {
    ...options,
    ...(rt.mountNamespace ? { mountNamespace: rt.mountNamespace } : {}),
  });
}

/** The global arguments every call carries. */
export function runtimeGlobalArgs(rt: OciRuntime): string[] {
  return [`--root=${rt.stateRoot}`];
}

/**
 * `start ID`: lets a created container run its process. runc's and crun's are done here, as
 * they do it (exec-fifo.ts; runc's given the container's init `pid`); other runtimes, and a
 * container the runtime does not hold created, go through the runtime's own `start` (which
 * then says why it cannot).
 */
export async function runtimeStart(rt: OciRuntime, id: string, pid?: number): Promise<void> {
  if (rt.name === 'runc' && pid && (await releaseExecFifo(execFifoOf(rt.stateRoot, id), pid))) return;
  if (rt.name === 'crun' && releaseCrunExecFifo(execFifoOf(rt.stateRoot, id))) return;
  await runRuntime(rt, ['start', id]);
}

/** `kill [--all] ID SIGNAL`; a container that already stopped is not an error. */
export async function runtimeKill(rt: OciRuntime, id: string, signal: string, all = false): Promise<void> {
  const r = await runRuntime(rt, ['kill', ...(all ? ['--all'] : []), id, signal], { check: false });
  if (
    r.code !== 0 &&
    !/not running|does not exist|container not running|process already finished/i.test(r.stderr)
  ) {
    throw invalidArgument(`Cannot send ${signal} to container ${id.slice(0, 12)}: ${r.stderr.trim()}`);
  }
}

/** `pause ID` / `resume ID`: freezes or thaws every process of the container (its freezer cgroup). */
export async function runtimeFreeze(rt: OciRuntime, id: string, freeze: boolean): Promise<void> {
  await runRuntime(rt, [freeze ? 'pause' : 'resume', id]);
}

/** `delete --force ID`; a container the runtime does not know is already deleted. */
export async function runtimeDelete(rt: OciRuntime, id: string): Promise<void> {
  await runRuntime(rt, ['delete', '--force', id], { check: false });
}

/** The runtime's `state` JSON, or undefined when it does not know the container. */
export async function runtimeState(
  rt: OciRuntime,
  id: string,
): Promise<{ status: string; pid: number } | undefined> {
  const r = await runRuntime(rt, ['state', id], { check: false });
  if (r.code !== 0) return undefined;
  return JSON.parse(r.stdout) as { status: string; pid: number };
}

/**
 * True while the runtime holds the container created but not started: runc (and crun) keep
 * `exec.fifo` in the container's state folder from `create` until `start` opens it. Its init
 * process already exists then, so a live pid alone does not mean the command runs. A file
 * check, so listing many containers spawns nothing.
 */
export function runtimeAwaitsStart(rt: OciRuntime, id: string): boolean {
  return existsSync(execFifoOf(rt.stateRoot, id));
}
