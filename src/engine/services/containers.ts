import { cpus, totalmem } from 'node:os';
import type { Readable, Writable } from 'node:stream';
/**
 * The engine facade's container operations (Docker's container commands and, later, the
 * Docker API's `/containers` routes): each a thin method over src/engine/container/*.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { conflict, invalidArgument } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import {
  archiveFromContainer,
  extractToContainer,
  type PathStat,
  statInContainer,
} from '../container/archive.js';
import { type AttachOptions, attachContainer, logOffset } from '../container/attach.js';
import { type CommitOptions, commitContainer } from '../container/commit.js';
import type { EngineContext } from '../container/context.js';
import { type CpOptions, copyFromContainer, copyToContainer } from '../container/copy.js';
import { type CreateOptions, createContainer } from '../container/create.js';
import { type Change, diffContainer } from '../container/diff.js';
import { containerEvent } from '../container/events.js';
import { type ExecOptions, execInContainer } from '../container/exec.js';
import { exportContainer } from '../container/export.js';
import { type HealthState, monitorHealth, readHealth, runHealthProbe } from '../container/health.js';
import { rootfsImage, storeImage } from '../container/image-source.js';
import { inspectContainer } from '../container/inspect.js';
import {
  cleanupAfterExit,
  getContainer,
  killContainer,
  listContainers,
  normaliseSignal,
  type RemoveOptions,
  removeContainer,
  stopContainer,
  waitContainer,
} from '../container/lifecycle.js';
import { monitorLogRotation } from '../container/log-rotate.js';
import { type LogOptions, streamLogs } from '../container/logs.js';
import { containerPaths } from '../container/paths.js';
import { pauseContainer, unpauseContainer } from '../container/pause.js';
import { psFilter } from '../container/ps-filter.js';
import { type RunIo, type RunResult, runContainer } from '../container/run.js';
import { startContainer } from '../container/start.js';
import type { ContainerRecord } from '../container/store.js';
import type { ContainerStreams } from '../container/streams.js';
import { du } from '../container/system.js';
import {
  type ContainerStats,
  hostCpuNanos,
  statsOf,
  type TopResult,
  topContainer,
} from '../container/top-stats.js';
import { type UpdateOptions, updateContainer } from '../container/update.js';
import {
  type PortMapping,
  type PsRow,
  portMappings,
  prunable,
  psListsAll,
  psRow,
  type StatsRow,
  StatsSampler,
} from '../container/views.js';
import type { ResolvedImage } from '../image/resolved-image.js';
import type { Credentials } from '../registry/auth-file.js';
import type { Progress } from '../registry/progress.js';
import type { LogEntry } from '../runtime/k8s-log.js';
import { detectRuntime, runtimeKill } from '../runtime/oci-runtime.js';

const log = logger('engine');

/** Where a new container's image comes from, and how to get it when it is missing. */
export interface ImageSource {
  /** An image reference, or (with `rootfs`) a root filesystem folder. */
  image: string;
  /** `--rootfs`: `image` is a folder used as the container's only layer. */
  rootfs?: boolean;
  /** `--pull`: always, missing (default) or never. */
  pull?: string;
  /** Pull progress, and Docker's "Unable to find image ... locally" line. */
  progress?: Progress;
  notice?: (line: string) => void;
  signal?: AbortSignal;
  /** Credentials for the pull (a pod's imagePullSecrets), instead of the auth file's. */
  credentials?: Credentials;
}

/** Options of {@link ContainerService.list}. */
export interface ListOptions {
  all?: boolean;
  /** Docker's `--filter` values (KEY=VALUE). */
  filters?: readonly string[];
}

/** Options of {@link ContainerService.stats}. */
export interface StatsOptions {
  /** Containers to watch; default all running (all with `all`). */
  refs?: readonly string[];
  all?: boolean;
  /** Keep sampling every second until `signal` aborts; otherwise one sample. */
  stream?: boolean;
  signal?: AbortSignal;
}

/** The result of a prune: what went, and what could not go (with why). */
export interface PruneReport {
  deleted: string[];
  errors: { id: string; error: unknown }[];
}

/** Container operations of the engine facade. */
export class ContainerService {
  constructor(private readonly ctx: EngineContext) {}

  private async resolve(src: ImageSource, opts: CreateOptions): Promise<ResolvedImage> {
    if (src.rootfs) {
      const image = rootfsImage(src.image);
      opts.rootfs = image.name;
      return image;
    }
    opts.imageRef ??= src.image;
    const { ensureImage, parsePullPolicy } = await import('../registry/ensure.js');
    const pulled = await ensureImage(this.ctx.images, src.image, parsePullPolicy(src.pull), src);
    if (pulled) this.ctx.events.append('image', 'pull', pulled.id, { name: pulled.names[0] ?? src.image });
    return storeImage(this.ctx.images, src.image);
  }

  /** Creates a container (pulling its image as `src.pull` says); returns its record. */
  async create(src: ImageSource, opts: CreateOptions): Promise<ContainerRecord> {
    return createContainer(this.ctx, await this.resolve(src, opts), opts);
  }

  /**
   * Creates, starts and (unless `io.detach`) attaches `io`'s streams until the container
   * exits. `io.signal` detaches; a failed start removes what was created.
   */
  async run(src: ImageSource, opts: CreateOptions, io: RunIo): Promise<RunResult> {
    return runContainer(this.ctx, await this.resolve(src, opts), opts, io);
  }

  /** Starts a created or exited container; returns its running record. */
  start(ref: string): Promise<ContainerRecord> {
    return startContainer(this.ctx, getContainer(this.ctx, ref));
  }

  /**
   * `start --attach`: starts and attaches from the output this start produces; resolves
   * with the exit status (undefined when unknown or detached by `signal`).
   */
  async startAttached(ref: string, streams: ContainerStreams & { signal?: AbortSignal }) {
    const before = getContainer(this.ctx, ref);
    const fromOffset = logOffset(this.ctx, before.id);
    const rec = await startContainer(this.ctx, before);
    return attachContainer(this.ctx, rec, { ...streams, fromStart: false, fromOffset });
  }

  /** Stop signal, then SIGKILL after `timeoutSec` (default: the container's stop timeout). */
  stop(ref: string, timeoutSec?: number): Promise<void> {
    return stopContainer(this.ctx, ref, timeoutSec);
  }

  /** Sends a signal (default SIGKILL) to a running container. */
  kill(ref: string, signal?: string): Promise<void> {
    return killContainer(this.ctx, ref, signal);
  }

  /**
   * Passes a signal to the container's process as a terminal's sig-proxy does: no state
   * change, no event, and nothing to report when the container has gone meanwhile.
   */
  async signal(ref: string, signal: string): Promise<void> {
    const rec = this.ctx.containers.find(ref);
    if (rec?.state !== 'running') return;
    await runtimeKill(
      detectRuntime(this.ctx.runroot, rec.config.runtime),
      rec.id,
      normaliseSignal(signal),
    ).catch((e) => log.debug('signal not delivered', { id: rec.id, signal, err: e as Error }));
  }

  /** Stops (if running) and starts again. */
  async restart(ref: string, timeoutSec?: number): Promise<ContainerRecord> {
    await stopContainer(this.ctx, ref, timeoutSec);
    const started = await startContainer(this.ctx, getContainer(this.ctx, ref));
    containerEvent(this.ctx, started, 'restart');
    return started;
  }

  /**
   * Journals what a front end saw happen to a container that the engine does not do itself:
   * a client attaching (`attach`), an exec instance made (`exec_create: CMD`).
   */
  record(ref: string, action: string, attributes: Record<string, string> = {}): void {
    containerEvent(this.ctx, getContainer(this.ctx, ref), action, attributes);
  }

  /** Removes a container (`force` kills a running one; `volumes` its anonymous volumes). */
  rm(ref: string, o: RemoveOptions = {}): Promise<void> {
    return removeContainer(this.ctx, ref, o);
  }

  /** Renames; the new name must be valid and free. */
  rename(ref: string, name: string): void {
    const rec = getContainer(this.ctx, ref);
    if (rec.name === name.replace(/^\//, ''))
      throw invalidArgument('Renaming a container with the same name as its current name');
    this.ctx.containers.rename(rec.id, name);
    containerEvent(this.ctx, { ...rec, name: name.replace(/^\//, '') }, 'rename', {
      oldName: `/${rec.name}`,
    });
  }

  /** One container, reconciled with the machine. */
  get(ref: string): ContainerRecord {
    return getContainer(this.ctx, ref);
  }

  /** Containers `ps` shows: running ones (all with `all` or a status filter) matching the filters. */
  list(o: ListOptions = {}): ContainerRecord[] {
    const filters = o.filters ?? [];
    const match = psFilter(filters, {
      health: (r) => readHealth(this.ctx, r)?.Status ?? 'none',
      find: (ref) => this.ctx.containers.find(ref),
    });
    const all = psListsAll(o.all, filters);
    // Labels never change with the state: drop what they exclude before reconciling the rest
    // with the machine (which reads /proc and exit files per container). The node agent lists
    // one pod's containers by label on every pod sync.
    const labelFilters = filters.filter((f) => f.startsWith('label='));
    const byLabel = psFilter(labelFilters);
    const labels = labelFilters.map((f) => {
      const [key, ...value] = f.slice('label='.length).split('=');
      return [key ?? '', value.length ? value.join('=') : undefined] as const;
    });
    return listContainers(this.ctx, byLabel, labels).filter(
      (r) => (all || r.state === 'running' || r.state === 'paused' || r.state === 'restarting') && match(r),
    );
  }

  /** {@link list} as Docker's `ps` rows (`trunc` shortens IDs and commands). */
  ps(o: ListOptions & { trunc?: boolean } = {}): PsRow[] {
    return this.list(o).map((r) => psRow(this.ctx, r, o.trunc !== false));
  }

  /** Changes limits and the restart policy (`docker update`), at once when it runs. */
  update(ref: string, o: UpdateOptions): Promise<void> {
    return updateContainer(this.ctx, getContainer(this.ctx, ref), o);
  }

  /** Writes the container's filesystem to `out` as a tar stream (`docker export`). */
  export(ref: string, out: Writable): Promise<void> {
    return exportContainer(this.ctx, getContainer(this.ctx, ref), out);
  }

  /** Freezes a running container (`docker pause`). */
  pause(ref: string): Promise<void> {
    return pauseContainer(this.ctx, getContainer(this.ctx, ref));
  }

  /** Thaws a paused container (`docker unpause`). */
  unpause(ref: string): Promise<void> {
    return unpauseContainer(this.ctx, getContainer(this.ctx, ref));
  }

  /** `docker port`: published ports (of `privatePort` only when given). */
  ports(ref: string, privatePort?: string): PortMapping[] {
    return portMappings(this.ctx, getContainer(this.ctx, ref), privatePort);
  }

  /**
   * `ps -s` and `inspect -s`: the bytes the container wrote to its own layer, and those plus
   * its image's (Docker's SizeRw and SizeRootFs).
   */
  sizes(ref: string): { rw: number; rootFs: number } {
    const rec = getContainer(this.ctx, ref);
    const rw = du(containerPaths(this.ctx, rec.id).upper);
    return { rw, rootFs: rw + (this.ctx.images.index.get(rec.config.imageId)?.size ?? 0) };
  }

  /** Docker's `GET /containers/{id}/json` document. */
  inspect(ref: string): Record<string, unknown> {
    return inspectContainer(this.ctx, getContainer(this.ctx, ref));
  }

  /** Writes the container's log entries to `write` (following until it stops or `signal`). */
  async logs(ref: string, o: LogOptions & { signal?: AbortSignal }, write: (e: LogEntry) => void) {
    await streamLogs(this.ctx, getContainer(this.ctx, ref), o, write);
  }

  /**
   * Connects `o`'s streams to a running container until it exits (output from now, or from
   * `o.fromOffset`); resolves with its exit status (undefined when unknown or detached by `signal`).
   */
  attach(ref: string, o: Omit<AttachOptions, 'fromStart'>): Promise<number | undefined> {
    const rec = getContainer(this.ctx, ref);
    // With `fromOffset` the caller attached before a start it made: a run that has already
    // ended still has its output (from the log) and its status to give.
    if (rec.state === 'paused') throw conflict('You cannot attach to a paused container, unpause it first');
    if (rec.state !== 'running' && o.fromOffset === undefined)
      throw conflict(`You cannot attach to a stopped container ${ref}; start it first`);
    return attachContainer(this.ctx, rec, { ...o, fromStart: false });
  }

  /**
   * Where output written from now on starts in the container's log: a front end that
   * attaches before it starts the container (the Docker API's `run`) passes it to
   * {@link attach} as `fromOffset`, so no early output is missed.
   */
  logOffset(ref: string): number {
    return logOffset(this.ctx, getContainer(this.ctx, ref).id);
  }

  /** Runs a command in a running container with `o`'s streams; resolves with its exit status. */
  exec(ref: string, o: ExecOptions): Promise<number> {
    return execInContainer(this.ctx, ref, o);
  }

  /** Waits for the container to stop; resolves with its exit status. */
  wait(ref: string, o: { signal?: AbortSignal } = {}): Promise<number> {
    return waitContainer(this.ctx, ref, o.signal);
  }

  /** The processes of a running container, as `ps` with `psArgs` (default `-ef`) shows them. */
  top(ref: string, psArgs = ''): Promise<TopResult> {
    return topContainer(this.ctx, getContainer(this.ctx, ref), psArgs);
  }

  /**
   * Resource use as `docker stats` rows: the first rows come half a second after the call
   * (CPU needs two samples), then (with `stream`) every second until `signal` aborts.
   */
  async stats(o: StatsOptions, emit: (rows: StatsRow[]) => void): Promise<void> {
    const recs = () =>
      o.refs?.length
        ? o.refs.map((r) => getContainer(this.ctx, r))
        : listContainers(this.ctx).filter((r) => o.all || r.state === 'running');
    const sampler = new StatsSampler();
    sampler.prime(recs());
    for (let delay = 500; ; delay = 1000) {
      try {
        await sleep(delay, undefined, { signal: o.signal });
      } catch (e) {
        if (o.signal?.aborted) return;
        throw e;
      }
      emit(sampler.sample(recs()));
      if (!o.stream) return;
    }
  }

  /** Copies `src` inside the container to `dest` on the host (`cp -L`: `follow`, `cp -a`: `archive`). */
  async copyFrom(ref: string, src: string, dest: string, o: CpOptions = {}): Promise<void> {
    await copyFromContainer(this.ctx, getContainer(this.ctx, ref), src, dest, o);
  }

  /** Copies `src` on the host to `dest` inside the container (`cp -a`: `archive` keeps owners). */
  async copyTo(ref: string, src: string, dest: string, o: CpOptions = {}): Promise<void> {
    await copyToContainer(this.ctx, getContainer(this.ctx, ref), src, dest, o);
  }

  /** The stat of `inner` in the container (a symlink itself), for the Docker API's `cp`. */
  statPath(ref: string, inner: string): Promise<PathStat> {
    return statInContainer(this.ctx, getContainer(this.ctx, ref), inner);
  }

  /** Writes `inner` as a tar stream whose entries start with its name. */
  archive(ref: string, inner: string, out: Writable): Promise<void> {
    return archiveFromContainer(this.ctx, getContainer(this.ctx, ref), inner, out, this.ctx.root);
  }

  /** Unpacks the tar stream `input` into the existing folder `inner` of the container (owned by root unless `keepOwners`). */
  extract(ref: string, inner: string, input: Readable, o: { keepOwners?: boolean } = {}): Promise<void> {
    return extractToContainer(
      this.ctx,
      getContainer(this.ctx, ref),
      inner,
      input,
      this.ctx.root,
      o.keepOwners,
    );
  }

  /**
   * The container's raw resource counters now (cumulative CPU time, memory, pids), with the
   * host's CPU time and CPU count that Docker's CPU % is computed against.
   */
  usage(ref: string): ContainerStats & { hostCpuNanos: number; onlineCpus: number } {
    const stats = statsOf(getContainer(this.ctx, ref), totalmem());
    return { ...stats, hostCpuNanos: hostCpuNanos(), onlineCpus: cpus().length };
  }

  /**
   * `commit`: a new image from the container's changes (its image plus one layer), with the
   * container's config and `o.changes` applied. Returns the image ID.
   */
  async commit(ref: string, o: CommitOptions = {}): Promise<string> {
    const rec = getContainer(this.ctx, ref);
    const id = await commitContainer(this.ctx, rec, o);
    containerEvent(this.ctx, rec, 'commit', {
      comment: o.message ?? '',
      imageID: id,
      imageRef: o.reference ?? '',
    });
    return id;
  }

  /** `diff`: the paths the container added, changed or deleted, in Docker's order. */
  diff(ref: string): Promise<Change[]> {
    return diffContainer(this.ctx, getContainer(this.ctx, ref));
  }

  /** Removes every container that is not running. */
  async prune(
    match?: (o: { created: string; labels: Record<string, string> }) => boolean,
  ): Promise<PruneReport> {
    const report: PruneReport = { deleted: [], errors: [] };
    for (const c of listContainers(this.ctx)) {
      if (!prunable(c) || (match && !match({ created: c.createdAt, labels: c.config.labels }))) continue;
      try {
        await removeContainer(this.ctx, c.id);
        report.deleted.push(c.id);
      } catch (error) {
        report.errors.push({ id: c.id, error });
      }
    }
    return report;
  }

  /** Records a container's exit and applies its restart policy (conmon's exit command). */
  cleanup(id: string): Promise<void> {
    return cleanupAfterExit(this.ctx, id);
  }

  /** Runs the container's health check once now and records the result (podman's `healthcheck run`). */
  healthcheck(ref: string): Promise<HealthState> {
    return runHealthProbe(this.ctx, getContainer(this.ctx, ref));
  }

  /** Probes the container every interval for as long as its current run lasts (the health monitor). */
  monitorHealth(id: string, signal?: AbortSignal): Promise<void> {
    return monitorHealth(this.ctx, id, signal);
  }

  /** The log rotation monitor of a container with `max-file` above 1 (`berth internal log-rotate`). */
  monitorLogRotation(id: string, signal?: AbortSignal): Promise<void> {
    return monitorLogRotation(this.ctx, id, signal);
  }
}
