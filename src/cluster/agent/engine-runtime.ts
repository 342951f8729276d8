/**
 * The PodRuntime on the engine library: a pod's sandbox is a pinned network namespace set up
 * once through CNI (the engine's bridge network for the node's pod CIDR, host-local IPAM), with
 * no pause process (as CRI-O runs); its containers are engine containers that join that
 * namespace (`ns:PATH`) and carry the io.kubernetes labels, so `berth ps` shows them.
 * Sandboxes are recorded under RUNROOT/pods (they live as long as the machine's namespaces do);
 * containers are the engine's own records, so a restarted agent finds both again.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { writeFileAtomicSync } from '../../core/atomic-file.js';
import { conflict, isNotFound, notFound } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import type { Engine } from '../../engine/engine.js';
import { attachNetworks, detachNetworks } from '../../engine/network/attach.js';
import { createNetns, removeNetns } from '../../engine/network/netns.js';
import { type Usage, usageOfPid } from './metrics/cgroup-usage.js';
import { podResolvMounts, writePodResolvConf } from './pod-dns.js';
import {
  type ContainerConfig,
  type ContainerStatus,
  type LogRequest,
  type NodeImage,
  PodLabels,
  type PodRef,
  type PodRuntime,
  type RuntimeVersion,
  type SandboxConfig,
  type SandboxStatus,
  type SessionStreams,
} from './runtime.js';
import { engineAttach, engineExec, engineLogs } from './streams/engine-streams.js';
import { dialInNetns } from './streams/netns-dial.js';

const log = logger('agent');

const ATTEMPT = 'io.kubernetes.container.attempt';
const SANDBOX = 'io.kubernetes.sandbox.id';
const INIT = 'io.berth.container.init';

interface SandboxRecord extends SandboxStatus {
  netns: string;
}

const sha = (id: string) => (id.startsWith('sha256:') ? id : `sha256:${id}`);
const ms = (t: string) => (t ? Date.parse(t) || 0 : 0);

export class EngineRuntime implements PodRuntime {
  private readonly dir: string;
  private readonly listeners = new Set<(pod: PodRef) => void>();
  private poll?: NodeJS.Timeout;
  private lastStates = new Map<string, string>();

  constructor(
    private readonly engine: Engine,
    private readonly opts: { podCidr: string; network?: string; pollMs?: number },
  ) {
    this.dir = join(engine.context.runroot, 'pods');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  private get network(): string {
    return this.opts.network ?? 'k8s-pods';
  }

  async version(): Promise<RuntimeVersion> {
    return { name: 'berth', version: '0.1.0' };
  }

  /** The node's pod network: made once for the pod CIDR. */
  private ensureNetwork(): void {
    if (this.engine.networks.list().some((n) => n.name === this.network)) return;
    this.engine.networks.create({ name: this.network, subnet: this.opts.podCidr });
  }

  private record(id: string): SandboxRecord {
    const p = join(this.dir, `${id}.json`);
    if (!existsSync(p)) throw notFound(`No such sandbox: ${id}`);
    return JSON.parse(readFileSync(p, 'utf8')) as SandboxRecord;
  }

  private save(r: SandboxRecord): void {
    writeFileAtomicSync(join(this.dir, `${r.id}.json`), JSON.stringify(r), { mode: 0o600 });
  }

  async runPodSandbox(config: SandboxConfig): Promise<string> {
    const id = randomBytes(16).toString('hex');
    if (config.dns) writePodResolvConf(join(this.dir, id), config.dns);
    if (config.hostNetwork) {
      this.save({ id, pod: config.pod, state: 'ready', createdAt: Date.now(), ip: '', netns: '' });
      return id;
    }
    this.ensureNetwork();
    const netns = await createNetns(this.engine.context.runroot, `pod-${id}`);
    try {
      const [a] = await attachNetworks(this.engine.context.db, this.engine.context.root, {
        containerId: `pod-${id}`,
        netns,
        networks: [{ name: this.network, aliases: [] }],
        ports: [],
      });
      this.save({ id, pod: config.pod, state: 'ready', createdAt: Date.now(), ip: a?.ip ?? '', netns });
    } catch (e) {
      await removeNetns(netns);
      throw e;
    }
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    const r = this.record(id);
    if (r.state !== 'ready') return;
    if (r.netns) {
      await detachNetworks(this.engine.context.db, this.engine.context.root, `pod-${id}`, r.netns);
      await removeNetns(r.netns);
    }
    this.save({ ...r, state: 'notready' });
  }

  async removePodSandbox(id: string): Promise<void> {
    if (!existsSync(join(this.dir, `${id}.json`))) return;
    await this.stopPodSandbox(id);
    rmSync(join(this.dir, id), { recursive: true, force: true });
    rmSync(join(this.dir, `${id}.json`), { force: true });
  }

  async listPodSandboxes(filter?: { podUid?: string }): Promise<SandboxStatus[]> {
    const out: SandboxStatus[] = [];
    for (const f of readdirSync(this.dir)) {
      if (!f.endsWith('.json')) continue;
      const { netns: _n, ...r } = JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as SandboxRecord;
      if (!filter?.podUid || r.pod.uid === filter.podUid) out.push(r);
    }
    return out;
  }

  async createContainer(sandboxId: string, c: ContainerConfig, signal?: AbortSignal): Promise<string> {
    const sb = this.record(sandboxId);
    // Kubernetes' command replaces the image's entrypoint and args its command.
    const [entrypoint, ...rest] = c.command;
    const rec = await this.engine.containers.create(
      {
        image: c.image,
        pull: c.imagePullPolicy === 'Always' ? 'always' : c.imagePullPolicy === 'Never' ? 'never' : 'missing',
        ...(signal ? { signal } : {}),
      },
      {
        name: `k8s_${c.name}_${sb.pod.name}_${sb.pod.namespace}_${sb.pod.uid.slice(0, 8)}_${c.attempt}`,
        ...(entrypoint !== undefined ? { entrypoint, command: [...rest, ...c.args] } : { command: c.args }),
        env: c.env.map((e) => `${e.name}=${e.value}`),
        ...(c.workingDir ? { workingDir: c.workingDir } : {}),
        hostname: sb.pod.name,
        mounts: [
          ...podResolvMounts(join(this.dir, sandboxId)),
          ...(c.mounts ?? []).map((m) => ({
            type: 'bind' as const,
            source: m.hostPath,
            destination: m.containerPath,
            readOnly: m.readOnly,
          })),
        ],
        ...(c.stdin ? { openStdin: true } : {}),
        ...(c.tty ? { tty: true } : {}),
        network: sb.netns ? `ns:${sb.netns}` : 'host',
        labels: {
          ...c.labels,
          [ATTEMPT]: String(c.attempt),
          [SANDBOX]: sandboxId,
          ...(c.init ? { [INIT]: 'true' } : {}),
        },
      },
    );
    return rec.id;
  }

  async startContainer(id: string): Promise<void> {
    await this.engine.containers.start(id);
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    await this.engine.containers.stop(id, graceSeconds);
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.engine.containers.rm(id, { force: true });
    } catch (e) {
      if ((e as { code?: string }).code !== 'NotFound') throw e;
    }
  }

  async listContainers(filter?: { podUid?: string }): Promise<ContainerStatus[]> {
    const filters = [`label=${PodLabels.uid}${filter?.podUid ? `=${filter.podUid}` : ''}`];
    return this.engine.containers.list({ all: true, filters }).map((r) => {
      const l = r.config.labels;
      const state =
        r.state === 'running' || r.state === 'paused'
          ? 'running'
          : r.state === 'created'
            ? 'created'
            : r.state === 'exited' || r.state === 'dead'
              ? 'exited'
              : 'unknown';
      return {
        id: r.id,
        sandboxId: l[SANDBOX] ?? '',
        pod: {
          uid: l[PodLabels.uid] ?? '',
          name: l[PodLabels.name] ?? '',
          namespace: l[PodLabels.namespace] ?? '',
        },
        name: l[PodLabels.container] ?? '',
        attempt: Number(l[ATTEMPT] ?? 0),
        init: l[INIT] === 'true',
        state,
        image: r.config.imageName,
        imageId: sha(r.config.imageId),
        createdAt: ms(r.createdAt),
        startedAt: ms(r.startedAt),
        finishedAt: ms(r.finishedAt),
        exitCode: r.exitCode,
        ...(r.oomKilled ? { reason: 'OOMKilled' } : {}),
      };
    });
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    const c = (await this.listContainers()).find((x) => x.id === id);
    if (!c) throw notFound(`No such container: ${id}`);
    return c;
  }

  logs(id: string, out: NodeJS.WritableStream, opts: LogRequest): Promise<void> {
    return engineLogs(this.engine, id, out, opts);
  }

  exec(id: string, cmd: string[], io: SessionStreams): Promise<number> {
    return engineExec(this.engine, id, cmd, io);
  }

  attach(id: string, io: SessionStreams): Promise<void> {
    return engineAttach(this.engine, id, io);
  }

  async portForward(sandboxId: string, port: number, signal?: AbortSignal): Promise<Duplex> {
    return dialInNetns(this.record(sandboxId).netns, port, signal);
  }

  async containerUsage(id: string): Promise<Usage | undefined> {
    const rec = this.engine.containers.get(id);
    return rec.state === 'running' && rec.pid ? usageOfPid(rec.pid) : undefined;
  }

  async listImages(): Promise<NodeImage[]> {
    return this.engine.images
      .list()
      .map((i) => ({ names: [...i.names, i.id], sizeBytes: i.size, id: sha(i.id) }));
  }

  async imagePresent(image: string): Promise<boolean> {
    try {
      this.engine.images.get(image);
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** Removes an image unless any engine container (a pod's or not) uses it. */
  async removeImage(id: string): Promise<void> {
    const user = this.engine.containers.list({ all: true }).find((r) => sha(r.config.imageId) === id);
    if (user) throw conflict(`Image ${id} is used by container ${user.id.slice(0, 12)}`);
    // Forced: its several names go with it (nothing uses it, checked above).
    await this.engine.images.remove(id, { force: true });
  }

  /**
   * Container exits reach the engine's records through conmon's exit command; this polls
   * them (the kubelet's PLEG relist, every second) and tells the agent which pods changed.
   */
  watchEvents(fn: (pod: PodRef) => void): () => void {
    this.listeners.add(fn);
    if (!this.poll) {
      this.poll = setInterval(() => {
        void this.listContainers()
          .then((cs) => {
            const now = new Map(cs.map((c) => [c.id, c.state]));
            for (const c of cs)
              if (this.lastStates.has(c.id) && this.lastStates.get(c.id) !== c.state)
                for (const l of this.listeners) l(c.pod);
            this.lastStates = now;
          })
          .catch((e) => log.warn('listing containers failed', { err: e as Error }));
      }, this.opts.pollMs ?? 1000);
      this.poll.unref();
    }
    return () => {
      this.listeners.delete(fn);
      if (!this.listeners.size) clearInterval(this.poll);
    };
  }
}
