/**
 * `start`: mounts the root filesystem, writes the OCI bundle, hands the container to conmon
 * (which runs the runtime's `create`) and lets it run. On any failure everything done so far
 * is undone, so a failed start leaves no mount, no cgroup and no monitor behind.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflict } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { makeDirs } from '../../core/make-dirs.js';
import { readFileInRoot } from '../fs/in-root.js';
import { capabilitiesFromMask } from '../runtime/capabilities.js';
import { startConmon } from '../runtime/conmon.js';
import {
  detectRuntime,
  mountsRootItself,
  type OciRuntime,
  runtimeAwaitsStart,
  runtimeDelete,
  runtimeStart,
} from '../runtime/oci-runtime.js';
import { cgroupsPathFor, ociSpec, type ResolvedBind } from '../runtime/oci-spec.js';
import { resolveGroups, resolveUser } from '../runtime/user.js';
import type { ContainerConfig } from './config.js';
import type { EngineContext } from './context.js';
import { containerEvent } from './events.js';
import { pidAlive } from './exit-watch.js';
import { startHealthMonitor } from './health.js';
import { imageOf } from './image-source.js';
import { initLayer, withInitLayer } from './init-layer.js';
import { withContainerLock } from './lock.js';
import { logRotation, startLogMonitor } from './log-rotate.js';
import {
  type ContainerNetwork,
  hostsFile,
  releaseNetwork,
  resolvConf,
  setupNetwork,
  usesCni,
} from './network.js';
import { type ContainerPaths, containerPaths } from './paths.js';
import {
  type AccountFiles,
  accountFiles,
  fitsOnePage,
  hostView,
  isPristine,
  runtimeRoot,
} from './private-rootfs.js';
import { releaseRun } from './release.js';
import { mountRootfs, unmountRootfs } from './rootfs.js';
import type { ContainerRecord } from './store.js';
import type { TerminalSize } from './streams.js';

const log = logger('container');

/** Options for {@link startContainer}. */
export interface StartOptions {
  /** The argv conmon runs when the container exits. Default: this `berth` with `container cleanup ID`. */
  exitCommand?: string[];
  /** Called after the container is created and before it runs (for example to size its terminal). */
  beforeStart?: (paths: ContainerPaths) => void;
  /**
   * A tty container's first terminal size, which the runtime gives the terminal as it makes it:
   * a size sent to conmon after `create` may arrive after the process has read it.
   */
  consoleSize?: TerminalSize;
}

/** The exit command: the same `berth` (the front end's `self`) recording the exit. */
export function defaultExitCommand(ctx: EngineContext, id: string): string[] {
  return [...ctx.self, '--root', ctx.root, '--runroot', ctx.runroot, 'container', 'cleanup', id];
}

const readIf = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : '');

function writeEtcFiles(
  paths: ContainerPaths,
  config: ContainerConfig,
  net: ContainerNetwork,
): ResolvedBind[] {
  const host = config.network === 'host';
  const ro = config.readOnly;
  // A file the user mounts there replaces the engine's, as in Docker (the node agent's
  // pod-wide /etc/hosts); it is not written either (a new file per container start).
  const own = new Set(config.mounts.map((m) => m.destination));
  const files: [string, string, () => string][] = [
    [paths.hostnameFile, '/etc/hostname', () => `${config.hostname}\n`],
    [paths.hostsFile, '/etc/hosts', () => (host ? readIf('/etc/hosts') : hostsFile(config, net))],
    [
      paths.resolvFile,
      '/etc/resolv.conf',
      () =>
        host
          ? readIf('/etc/resolv.conf')
          : config.network === 'none'
            ? ''
            : resolvConf(config, undefined, net.dns),
    ],
  ];
  const binds: ResolvedBind[] = [];
  for (const [source, destination, text] of files) {
    if (own.has(destination)) continue;
    writeFileSync(source, text());
    binds.push({ source, destination, readOnly: ro });
  }
  return binds;
}

async function resolveBinds(ctx: EngineContext, paths: ContainerPaths, config: ContainerConfig) {
  const binds: ResolvedBind[] = [];
  for (const m of config.mounts) {
    if (m.type === 'bind') {
      // Docker creates a missing host folder for -v; an existing file is bound as it is.
      if (!existsSync(m.source)) makeDirs(m.source);
      binds.push({
        source: m.source,
        destination: m.destination,
        readOnly: m.readOnly,
        propagation: m.propagation,
        nonRecursive: m.nonRecursive,
      });
    } else {
      const v = ctx.volumes.get(m.source);
      if (!m.noCopy) ctx.volumes.fillOnce(m.source, paths.merged, m.destination);
      binds.push({ source: v.Mountpoint, destination: m.destination, readOnly: m.readOnly });
    }
  }
  return binds;
}

/**
 * This process's bounding set: what a container started from here can be given. Read once: a
 * process's bounding set never grows, Berth never drops from it, and a node agent read the
 * whole /proc/self/status for every container it started.
 */
let bounding: { caps: string[] | undefined } | undefined;
function hostCapabilities(): string[] | undefined {
  if (!bounding) {
    const m = /^CapBnd:\s*([0-9a-f]+)/m.exec(readIf('/proc/self/status'));
    bounding = { caps: m ? capabilitiesFromMask(m[1]!) : undefined };
  }
  return bounding.caps;
}

function findCatatonit(): string | undefined {
  for (const p of ['/usr/bin/catatonit', '/usr/libexec/podman/catatonit', '/usr/local/bin/catatonit'])
    if (existsSync(p)) return p;
  return undefined;
}

const readPid = (file: string) => Number.parseInt(readIf(file).trim(), 10) || 0;

/**
 * The pid of the container's process when an earlier start got as far as the runtime's
 * `create` and no further (its `berth` was killed just then): the runtime holds it created,
 * its conmon still watches it, so `start` only has to let it run, as podman's does.
 */
function createdByRuntime(
  paths: ContainerPaths,
  runtime: OciRuntime,
  rec: ContainerRecord,
): number | undefined {
  if (rec.state !== 'created' || !runtimeAwaitsStart(runtime, rec.id)) return undefined;
  const pid = readPid(paths.pidFile);
  return pidAlive(pid) && pidAlive(readPid(paths.conmonPidFile)) ? pid : undefined;
}

/** The runtime's `start`, then the record says running. */
async function letRun(
  ctx: EngineContext,
  rec: ContainerRecord,
  runtime: OciRuntime,
  pid: number,
): Promise<ContainerRecord> {
  await runtimeStart(runtime, rec.id, pid);
  const updated = ctx.containers.update(rec.id, {
    state: 'running',
    pid,
    exitCode: 0,
    error: '',
    oomKilled: false,
    startedAt: new Date().toISOString(),
    finishedAt: '',
    stoppedByUser: false,
    runtime: runtime.name,
  });
  const started = updated ?? ctx.containers.get(rec.id);
  containerEvent(ctx, started, 'start');
  startHealthMonitor(ctx, started);
  startLogMonitor(ctx, started);
  return started;
}

/** Starts a created or exited container; returns its record in state `running`. */
export function startContainer(
  ctx: EngineContext,
  rec: ContainerRecord,
  opts: StartOptions = {},
): Promise<ContainerRecord> {
  return withContainerLock(ctx, rec.id, () => startLocked(ctx, ctx.containers.get(rec.id), opts));
}

async function startLocked(
  ctx: EngineContext,
  rec: ContainerRecord,
  opts: StartOptions,
): Promise<ContainerRecord> {
  if (rec.state === 'running') return rec;
  if (rec.state === 'removing') throw conflict(`Container ${rec.name} is being removed`);
  // dockerd's words: a frozen container is resumed, not started again.
  if (rec.state === 'paused') throw conflict('cannot start a paused container, try unpause instead');
  const config = rec.config;
  const paths = containerPaths(ctx, rec.id);
  const runtime = detectRuntime(ctx.runroot, config.runtime);
  const waiting = createdByRuntime(paths, runtime, rec);
  if (waiting !== undefined) return letRun(ctx, rec, runtime, waiting);
  // The previous run's exit command may not have released it yet (it waits for this lock, and
  // on a slow machine `start` wins the race): release what that run still holds here.
  await releaseRun(ctx, rec.id, runtime);
  // Looked for first: a first start has neither, and rmSync's way to find that out (a failed
  // lstat thrown and caught) costs more than the look.
  if (existsSync(paths.exitFile)) rmSync(paths.exitFile, { force: true });
  if (existsSync(paths.bundle)) rmSync(paths.bundle, { recursive: true, force: true });
  mkdirSync(paths.bundle, { recursive: true, mode: 0o700 });
  mkdirSync(paths.exitDir, { recursive: true });
  mkdirSync(paths.socketDir, { recursive: true });
  let created = false;
  let networked = false;
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  try {
    const image = await imageOf(ctx.images, config);
    const root = await runtimeRoot(ctx, paths, rec.id, config, image);
    let account: AccountFiles;
    if (root) {
      account = await accountFiles(ctx, ctx.images, paths, rec.id, image);
      mkdirSync(root.path);
    } else {
      await mountRootfs(ctx, paths, rec.id, image);
      log.debug('rootfs mounted', { id: rec.id, ms: ms() });
      // Read as the container sees them: an image's /etc/passwd may be a symlink to a host path.
      account = {
        passwd: readFileInRoot(paths.merged, '/etc/passwd'),
        group: readFileInRoot(paths.merged, '/etc/group'),
      };
    }
    const groupText = account.group;
    const user = resolveUser(config.user, account.passwd, groupText);
    if (config.groupAdd?.length)
      user.additionalGids = [
        ...new Set([...user.additionalGids, ...resolveGroups(config.groupAdd, groupText)]),
      ];
    const net = await setupNetwork(ctx, rec.id, rec.name, config, (ref) => ctx.containers.find(ref));
    networked = true;
    const binds = [...writeEtcFiles(paths, config, net), ...(await resolveBinds(ctx, paths, config))];
    if (root && isPristine(paths)) {
      const points = [
        ...binds.map((b) => ({ destination: b.destination, dir: statSync(b.source).isDirectory() })),
        ...config.tmpfs.map((t) => ({ destination: t.destination, dir: true })),
      ];
      const layer = await initLayer(ctx, image, points, hostView(ctx, paths, rec.id, image));
      const layered = layer && withInitLayer(root.mounts, layer);
      if (layered && fitsOnePage(layered)) root.mounts = layered;
    }
    // The runtime mounts the root itself (runc), or conmon's namespace holds it (crun).
    const rootForConmon = root && !mountsRootItself(runtime) ? root : undefined;
    const spec = ociSpec({
      config,
      rootfs: root?.path ?? paths.merged,
      rootMounts: rootForConmon ? undefined : root?.mounts,
      user,
      binds,
      cgroupsPath: cgroupsPathFor(rec.id, config.cgroupParent),
      initPath: config.init ? findCatatonit() : undefined,
      hostCapabilities: hostCapabilities(),
      netnsPath: net.netnsPath,
    });
    if (config.tty && opts.consoleSize?.rows && opts.consoleSize.columns)
      spec.process.consoleSize = { height: opts.consoleSize.rows, width: opts.consoleSize.columns };
    writeFileSync(join(paths.bundle, 'config.json'), JSON.stringify(spec));
    const pid = await startConmon({
      id: rec.id,
      name: rec.name,
      runtime,
      paths,
      tty: config.tty,
      stdin: config.openStdin,
      leaveStdinOpen: config.openStdin && config.stdinOnce === false,
      // With rotation the monitor keeps the size (log-rotate.ts); conmon would truncate instead.
      logSizeMax: logRotation(config) ? undefined : config.log?.maxSize,
      exitCommand: opts.exitCommand ?? defaultExitCommand(ctx, rec.id),
      ...(rootForConmon ? { root: { mounts: rootForConmon.mounts, target: rootForConmon.path } } : {}),
    });
    created = true;
    log.debug('created by conmon', { id: rec.id, pid, ms: ms() });
    opts.beforeStart?.(paths);
    const started = await letRun(ctx, rec, runtime, pid);
    log.debug('started', { id: rec.id, ms: ms() });
    return started;
  } catch (e) {
    if (created) await runtimeDelete(runtime, rec.id);
    await unmountRootfs(paths);
    // The start's own error is the one to report; a release that fails as well leaves an
    // address or a veth behind, which is worth a line.
    if (networked || usesCni(config.network))
      await releaseNetwork(ctx, rec.id).catch((err: unknown) =>
        log.warn('releasing the network of a container that failed to start failed', {
          id: rec.id,
          err: err as Error,
        }),
      );
    const msg = e instanceof Error ? e.message : String(e);
    // Docker keeps the status the failure maps to (127 not found, 126 not executable) in
    // State.ExitCode, which scripts read after a failed `docker start`.
    const exitCode = (e as { exitCode?: unknown }).exitCode;
    ctx.containers.update(rec.id, { error: msg, ...(typeof exitCode === 'number' ? { exitCode } : {}) });
    throw e;
  }
}
