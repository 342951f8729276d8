/**
 * Test isolation: every test that touches the machine takes a Sandbox. It owns a temporary
 * folder with its own engine `--root` and `--runroot`, unique names, optionally a fresh
 * network namespace, and a cleanup that runs even when the test fails: it kills processes
 * started from the sandbox (conmon, containers, servers), unmounts everything mounted under
 * it, removes its cgroups and its network namespace, then deletes the folder.
 */
import assert from 'node:assert/strict';
import { type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { type RunOptions, type RunResult, run } from '../../src/core/exec.js';

/** The repository root; bin/berth lives under it. */
export const repoRoot = resolve(import.meta.dirname, '..', '..');
export const berthBin = join(repoRoot, 'bin', 'berth');

export interface SandboxOptions {
  /** Create a network namespace for this test; berth commands then run inside it. */
  netns?: boolean;
}

export interface Sandbox {
  /** A short unique id, also used as a name prefix. */
  id: string;
  /** The sandbox folder; everything else lives below it. */
  dir: string;
  root: string;
  runroot: string;
  /** The network namespace's name, when one was asked for. */
  netns?: string;
  /** The cgroup parent the engine should use, so cleanup can find what it made. */
  cgroupParent: string;
  /** Environment for berth commands: BERTH_ROOT, BERTH_RUNROOT, BERTH_CGROUP_PARENT. */
  env: NodeJS.ProcessEnv;
  /** A unique name with a readable prefix, for containers, images, networks. */
  name(prefix?: string): string;
  /** Runs `bin/berth` with this sandbox's root and runroot (inside the netns, if any). */
  berth(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** `berth ARGS` that must succeed: its stdout; fails naming the command and its stderr otherwise. */
  ok(args: readonly string[], options?: RunOptions): Promise<string>;
  /** Runs any program inside the sandbox's network namespace (or on the host without one). */
  exec(file: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Starts a long-running child in the sandbox; it is killed at cleanup. */
  spawn(file: string, args: readonly string[], options?: SpawnOptions): ReturnType<typeof spawn>;
  /** Registers extra cleanup, run last-in first-out before the built-in cleanup. */
  defer(fn: () => unknown): void;
  /** Runs all cleanup now (also registered with the test's `after`). */
  cleanup(): Promise<void>;
}

/** Sandboxes made in this process and not cleaned up yet. */
const live = new Set<Sandbox>();
/** A cleanup that hangs must not keep an interrupted run from ending. */
const SIGNAL_CLEANUP_MS = 30_000;
let signalsHandled = false;

/**
 * An interrupted run (Ctrl-C, `timeout`, the test runner cancelling a file) ends without its
 * `after` hooks: its sandboxes' network namespaces, mounts, processes and cgroups would stay
 * on the machine. On SIGINT or SIGTERM they are cleaned up first, then the process ends as
 * the signal would have ended it.
 */
function cleanUpOnSignals(): void {
  if (signalsHandled) return;
  signalsHandled = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      const boxes = [...live];
      const done = Promise.allSettled(boxes.map((b) => b.cleanup()));
      const cap = new Promise((r) => setTimeout(r, SIGNAL_CLEANUP_MS).unref());
      void Promise.race([done, cap]).then(() => process.kill(process.pid, sig));
    });
  }
}

/** Makes a sandbox and registers its cleanup with `t.after`. */
export async function sandbox(t: TestContext | undefined, options: SandboxOptions = {}): Promise<Sandbox> {
  const id = `bt${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(process.env.BERTH_TEST_TMP ?? '/tmp', `berth-test-${id}-`));
  const root = join(dir, 'root');
  const runroot = join(dir, 'run');
  mkdirSync(root);
  mkdirSync(runroot);
  const cgroupParent = `berth-test-${id}`;
  const deferred: (() => unknown)[] = [];
  const children: ReturnType<typeof spawn>[] = [];
  let netns: string | undefined;
  if (options.netns) {
    netns = `berth-${id}`;
    await run('ip', ['netns', 'add', netns]);
    await run('ip', ['netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up']);
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BERTH_ROOT: root,
    BERTH_RUNROOT: runroot,
    BERTH_CGROUP_PARENT: cgroupParent,
  };
  // nsenter switches only the network namespace. (`ip netns exec` would also give the
  // command a private mount namespace, and mounts berth makes there, such as pinned
  // container namespaces, would vanish when the command exits.)
  const wrap = (file: string, args: readonly string[]): [string, string[]] =>
    netns ? ['nsenter', [`--net=/run/netns/${netns}`, file, ...args]] : [file, [...args]];
  let n = 0;
  let cleaned = false;
  const box: Sandbox = {
    id,
    dir,
    root,
    runroot,
    netns,
    cgroupParent,
    env,
    name: (prefix = 'x') => `${prefix}-${id}-${n++}`,
    berth: (args, opts = {}) => {
      const [f, a] = wrap(berthBin, ['--root', root, '--runroot', runroot, ...args]);
      return run(f, a, { check: false, ...opts, env: { ...env, ...opts.env } });
    },
    ok: async (args, opts = {}) => {
      const r = await box.berth(args, opts);
      assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    },
    exec: (file, args, opts = {}) => {
      const [f, a] = wrap(file, args);
      return run(f, a, { ...opts, env: { ...env, ...opts.env } });
    },
    spawn: (file, args, opts = {}) => {
      const [f, a] = wrap(file, args);
      const child = spawn(f, a, { ...opts, env: { ...env, ...(opts.env ?? {}) } });
      children.push(child);
      return child;
    },
    defer: (fn) => deferred.push(fn),
    cleanup: async () => {
      if (cleaned) return;
      cleaned = true;
      live.delete(box);
      for (const fn of deferred.reverse()) {
        try {
          await fn();
        } catch (e) {
          process.stderr.write(`sandbox ${id}: deferred cleanup failed: ${(e as Error).message}\n`);
        }
      }
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      await cleanupMachineState({ dir, cgroupParent, netns });
    },
  };
  cleanUpOnSignals();
  live.add(box);
  t?.after(() => box.cleanup());
  return box;
}

/**
 * Removes what a test may have left behind below `dir`: processes whose command line or
 * working directory mention it, mounts under it, cgroups named after the sandbox, the netns.
 * Exported so that a crashed run's leftovers can be swept too.
 */
export async function cleanupMachineState(s: {
  dir: string;
  cgroupParent: string;
  netns?: string;
}): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const pids = processesMentioning(s.dir, s.netns);
    if (pids.length === 0) break;
    killAll(pids);
    await new Promise((r) => setTimeout(r, 100));
  }
  unmountUnder(s.dir);
  await removeCgroups(s.cgroupParent);
  if (s.netns) {
    // Processes still inside the namespace keep it alive; kill them first.
    const r = await run('ip', ['netns', 'pids', s.netns], { check: false });
    killAll(r.stdout.split(/\s+/).filter(Boolean).map(Number));
    await run('ip', ['netns', 'delete', s.netns], { check: false });
  }
  try {
    rmSync(s.dir, { recursive: true, force: true, maxRetries: 3 });
  } catch (e) {
    process.stderr.write(`sandbox: could not remove ${s.dir}: ${(e as Error).message}\n`);
  }
}

function processesMentioning(dir: string, netns: string | undefined): number[] {
  const found: number[] = [];
  const self = process.pid;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === self) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch (e) {
        // A kernel thread has no cwd to read; a process outside our reach (EACCES) is not ours.
        cleanupFailed(`could not read the folder of process ${pid}`, e, ['EACCES']);
      }
      if (cmdline.includes(dir) || cwd.startsWith(dir) || (netns && cmdline.includes(netns))) found.push(pid);
    } catch (e) {
      cleanupFailed(`could not read process ${pid}`, e, ['EACCES']);
    }
  }
  return found;
}

function unmountUnder(dir: string): void {
  for (let round = 0; round < 5; round++) {
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((p): p is string => !!p && (p === dir || p.startsWith(`${dir}/`)))
      .map((p) => p.replace(/\\040/g, ' '))
      .sort((a, b) => b.length - a.length);
    if (mounts.length === 0) return;
    for (const m of mounts) {
      // Lazy unmount: a mount still busy is detached now and freed when its users go.
      spawnSyncQuiet('umount', ['-l', m]);
    }
  }
}

async function removeCgroups(parent: string): Promise<void> {
  const base = '/sys/fs/cgroup';
  if (!existsSync(base)) return;
  const trees = [base, ...readdirSync(base).map((c) => join(base, c))]
    .map((r) => join(r, parent))
    .filter((p) => existsSync(p));
  // A container whose conmon was killed is reparented to init and mentions nothing of the
  // sandbox: its cgroup is the only trace of it, and it keeps that cgroup busy.
  for (let round = 0; round < 5; round++) {
    const pids = new Set(trees.flatMap(cgroupProcesses));
    if (pids.size === 0) break;
    killAll(pids);
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const p of trees) removeCgroupTree(p);
}

function cgroupProcesses(p: string): number[] {
  try {
    const own = readFileSync(join(p, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    const below = readdirSync(p, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .flatMap((e) => cgroupProcesses(join(p, e.name)));
    return [...own, ...below];
  } catch (e) {
    cleanupFailed(`could not list the processes of cgroup ${p}`, e);
    return [];
  }
}

function removeCgroupTree(p: string): void {
  try {
    for (const e of readdirSync(p, { withFileTypes: true }))
      if (e.isDirectory()) removeCgroupTree(join(p, e.name));
    rmdirSync(p);
  } catch (e) {
    // Busy is rare (its processes were killed) and worth seeing: it is a leak.
    cleanupFailed(`could not remove cgroup ${p}`, e);
  }
}

/** Whether `e` says the process or file is already gone: what cleanup races with, and expects. */
const isGone = (e: unknown) => ['ESRCH', 'ENOENT'].includes((e as NodeJS.ErrnoException).code ?? '');

/**
 * Reports a cleanup step that failed for another reason than its target being gone (or one of
 * `expected`'s codes); cleanup goes on.
 */
function cleanupFailed(what: string, e: unknown, expected: string[] = []): void {
  if (!isGone(e) && !expected.includes((e as NodeJS.ErrnoException).code ?? ''))
    process.stderr.write(`sandbox: ${what}: ${(e as Error).message}\n`);
}

function killAll(pids: Iterable<number>): void {
  for (const pid of pids)
    try {
      process.kill(pid, 'SIGKILL');
    } catch (e) {
      cleanupFailed(`could not kill process ${pid}`, e);
    }
}

function spawnSyncQuiet(file: string, args: string[]): void {
  spawnSync(file, args, { stdio: 'ignore' });
}

/** True when the suite runs as root, which every test of real containers needs. */
export const isRoot = process.getuid?.() === 0;
