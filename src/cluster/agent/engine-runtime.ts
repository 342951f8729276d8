/**
 * The PodRuntime on the engine library: a pod's sandbox is a pinned network namespace set up
 * once through CNI (the engine's bridge network for the node's pod CIDR, host-local IPAM), with
 * no pause process (as CRI-O runs); its containers are engine containers that join that
 * namespace (`ns:PATH`) and carry the io.kubernetes labels, so `berth ps` shows them.
 * Sandboxes are recorded under RUNROOT/pods (they live as long as the machine's namespaces do);
 * containers are the engine's own records, so a restarted agent finds both again.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { writeFileAtomicSync } from '../../core/atomic-file.js';
import { conflict, isNotFound, notFound } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { containerPaths } from '../../engine/container/paths.js';
import type { Engine } from '../../engine/engine.js';
import { readHead } from '../../engine/fs/in-root.js';
import { attachNetworks, BridgeOptionLabels, detachNetworks } from '../../engine/network/attach.js';
import { IsolationCheck } from '../../engine/network/isolation.js';
import { createNamespaces, removeNamespaces, removeNetns } from '../../engine/network/netns.js';
import { snapshotterOf } from '../../engine/snapshot/snapshots.js';
import { ConfigError } from './config-error.js';
import { FALLBACK_LOG_LINES, MAX_MESSAGE_BYTES, terminationMessage } from './container-spec.js';
import {
  engineOptions,
  pullCredentialsOf,
  removeSandboxFiles,
  type SandboxExtras,
  sandboxNamespaces,
  setUpSandbox,
  tearDownSandbox,
  terminationFile,
} from './engine-pod-spec.js';
import { type Usage, usageOfPid } from './metrics/cgroup-usage.js';
import { ociPropagation } from './mount-propagation.js';
import { podResolvMounts, writePodResolvConf } from './pod-dns.js';
import { podOciRuntime } from './pod-oci-runtime.js';
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
import { checkRunAsNonRoot } from './security-context.js';
import { engineAttach, engineExec, engineLogs } from './streams/engine-streams.js';
import { dialInNetns } from './streams/netns-dial.js';

const log = logger('agent');

const ATTEMPT = 'io.kubernetes.container.attempt';
const SANDBOX = 'io.kubernetes.sandbox.id';
const INIT = 'io.berth.container.init';
const MESSAGE_POLICY = 'io.kubernetes.container.terminationMessagePolicy';

interface SandboxRecord extends SandboxStatus {
  netns: string;
  /** Cgroup, namespaces, files (engine-pod-spec.ts); absent in records of older agents. */
  extras?: SandboxExtras;
}

const sha = (id: string) => (id.startsWith('sha256:') ? id : `sha256:${id}`);
/** The engine network of the node's pods (its bridge is the CNI bridge on the pod CIDR). */
export const POD_NETWORK = 'k8s-pods';

const ms = (t: string) => (t ? Date.parse(t) || 0 : 0);

export class EngineRuntime implements PodRuntime {
  private readonly dir: string;
  private readonly listeners = new Set<(pod: PodRef) => void>();
  private poll?: NodeJS.Timeout;
  private lastStates = new Map<string, string>();
  /** Whether lastStates holds a relist yet (see watchEvents). */
  private relisted = false;
  /** Termination messages of exited containers by id: an exited container's never changes. */
  private readonly messages = new Map<string, string>();
  /**
   * The process of each running container as the last listing saw it: the resource summary
   * lists the containers, then asks each one's usage, which read its whole record again
   * (its configuration parsed, its state reconciled) every 10 s for every container.
   */
  private pids = new Map<string, number>();
  /** The pod network runs no firewall plugin: its isolation is checked once a minute, not per pod. */
  private readonly isolation = new IsolationCheck();

  constructor(
    private readonly engine: Engine,
    private readonly opts: {
      podCidr: string;
      network?: string;
      pollMs?: number;
      seccompDir?: string;
      cgroupRoot?: string;
      /**
       * The pod network's MTU for the pod bridge; the bridge then leaves masquerading to the
       * pod network, which spares pod-to-pod traffic across nodes.
       */
      mtu?: number;
    },
  ) {
    this.dir = join(engine.context.runroot, 'pods');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Where `kubepods` goes (the kubelet's --cgroup-root): the root, or under the engine's
   * BERTH_CGROUP_PARENT when one is set (several agents, or a test's sandbox, on one machine).
   */
  private get cgroupRoot(): string {
    const parent = this.opts.cgroupRoot ?? process.env.BERTH_CGROUP_PARENT ?? '';
    return parent ? `/${parent.replace(/^\/+|\/+$/g, '')}` : '';
  }

  private get network(): string {
    return this.opts.network ?? POD_NETWORK;
  }

  async version(): Promise<RuntimeVersion> {
    return { name: 'berth', version: '0.1.0' };
  }

  /**
   * The node's pod network: made once for the pod CIDR. Its subnet is accepted in FORWARD once,
   * as flannel accepts the pod range, rather than per pod by the CNI firewall plugin.
   */
  private ensureNetwork(): void {
    if (this.engine.networks.list().some((n) => n.name === this.network)) return;
    this.engine.networks.create({
      name: this.network,
      subnet: this.opts.podCidr,
      labels: {
        [BridgeOptionLabels.subnetForward]: 'true',
        ...(this.opts.mtu
          ? { [BridgeOptionLabels.mtu]: String(this.opts.mtu), [BridgeOptionLabels.masquerade]: 'false' }
          : {}),
      },
    });
  }

  /**
   * The sandbox records, read from this.dir once and then kept here: this runtime is their only
   * writer, and every pod sync lists them, which read every file each time (O(pods) per sync).
   */
  private sandboxCache?: Map<string, SandboxRecord>;

  private sandboxes(): Map<string, SandboxRecord> {
    if (this.sandboxCache) return this.sandboxCache;
    const m = new Map<string, SandboxRecord>();
    for (const f of readdirSync(this.dir)) {
      if (!f.endsWith('.json')) continue;
      const r = JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as SandboxRecord;
      m.set(r.id, r);
    }
    this.sandboxCache = m;
    return m;
  }

  private record(id: string): SandboxRecord {
    const r = this.sandboxes().get(id);
    if (!r) throw notFound(`No such sandbox: ${id}`);
    return r;
  }

  private save(r: SandboxRecord): void {
    // Run-time state (the runroot does not outlive a reboot): the rename alone keeps it whole
    // through a kill -9, so no fsync.
    writeFileAtomicSync(join(this.dir, `${r.id}.json`), JSON.stringify(r), { mode: 0o600, fsync: false });
    this.sandboxes().set(r.id, r);
  }

  async runPodSandbox(config: SandboxConfig): Promise<string> {
    const id = randomBytes(16).toString('hex');
    const dir = join(this.dir, id);
    if (config.dns) writePodResolvConf(dir, config.dns);
    if (!config.hostNetwork) this.ensureNetwork();
    const ns = await createNamespaces(this.engine.context.runroot, `pod-${id}`, sandboxNamespaces(config));
    const netns = ns.net ?? '';
    let attached = false;
    try {
      let ip = '';
      if (netns) {
        const [a] = await attachNetworks(this.engine.context.db, this.engine.context, {
          containerId: `pod-${id}`,
          netns,
          networks: [{ name: this.network, aliases: [] }],
          ports: [],
          isolation: this.isolation,
        });
        attached = true;
        ip = a?.ip ?? '';
      }
      const extras = await setUpSandbox(dir, config, ip, ns, this.cgroupRoot);
      this.save({ id, pod: config.pod, state: 'ready', createdAt: Date.now(), ip, netns, extras });
    } catch (e) {
      if (attached) await detachNetworks(this.engine.context.db, this.engine.context, `pod-${id}`, netns);
      await removeNamespaces(Object.values(ns));
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    const r = this.record(id);
    if (r.state !== 'ready') return;
    // CNI DEL enters the network namespace: it is unpinned after, with the others.
    if (r.netns) await detachNetworks(this.engine.context.db, this.engine.context, `pod-${id}`, r.netns);
    if (r.extras) await tearDownSandbox(r.extras, r.netns);
    else if (r.netns) await removeNetns(r.netns);
    this.save({ ...r, state: 'notready' });
  }

  async removePodSandbox(id: string): Promise<void> {
    if (!this.sandboxes().has(id)) return;
    await this.stopPodSandbox(id);
    const { extras } = this.record(id);
    if (extras) removeSandboxFiles(extras);
    rmSync(join(this.dir, `${id}.json`), { force: true });
    this.sandboxes().delete(id);
  }

  async listPodSandboxes(filter?: { podUid?: string }): Promise<SandboxStatus[]> {
    const out: SandboxStatus[] = [];
    // A pod's sync asks for its own sandboxes several times: only those are copied, not
    // every sandbox of the node (O(pods) per call, O(pods^2) over a Deployment's start).
    for (const rec of this.sandboxes().values())
      if (!filter?.podUid || rec.pod.uid === filter.podUid) {
        const { netns: _n, extras: _x, ...r } = rec;
        out.push({ ...r, pod: { ...r.pod } });
      }
    return out;
  }

  async createContainer(sandboxId: string, c: ContainerConfig, signal?: AbortSignal): Promise<string> {
    const sb = this.record(sandboxId);
    // Kubernetes' command replaces the image's entrypoint and args its command.
    const [entrypoint, ...rest] = c.command;
    const credentials = pullCredentialsOf(c);
    const create = (pull: string, imageUser?: string) => {
      const extra = sb.extras
        ? engineOptions(sb.extras, c, {
            ...(imageUser !== undefined ? { imageUser } : {}),
            seccompDir: this.opts.seccompDir,
          })
        : {};
      const volumes = (c.mounts ?? []).map((m) => ({
        type: 'bind' as const,
        source: m.hostPath,
        destination: m.containerPath,
        readOnly: m.readOnly,
        ...(m.propagation && m.propagation !== 'None'
          ? { propagation: ociPropagation(m.hostPath, m.propagation) }
          : {}),
      }));
      const runtime = podOciRuntime(volumes.map((v) => v.propagation));
      return this.engine.containers.create(
        { image: c.image, pull, ...(signal ? { signal } : {}), ...(credentials ? { credentials } : {}) },
        {
          name: `k8s_${c.name}_${sb.pod.name}_${sb.pod.namespace}_${sb.pod.uid.slice(0, 8)}_${c.attempt}`,
          ...(entrypoint !== undefined ? { entrypoint, command: [...rest, ...c.args] } : { command: c.args }),
          env: c.env.map((e) => `${e.name}=${e.value}`),
          ...(c.workingDir ? { workingDir: c.workingDir } : {}),
          hostname: sb.extras?.hostname ?? sb.pod.name,
          network: sb.netns ? `ns:${sb.netns}` : 'host',
          // A pod's stdinOnce defaults to false: stdin stays open across attaches.
          ...(c.stdin ? { openStdin: true, stdinOnce: !!c.stdinOnce } : {}),
          ...(c.tty ? { tty: true } : {}),
          ...extra,
          ...(c.targetContainerId ? { pid: this.targetPidNamespace(c.targetContainerId) } : {}),
          // The pod's volumes, then the pod's /etc/hosts and /etc/hostname and the termination message file.
          mounts: [...podResolvMounts(join(this.dir, sandboxId)), ...volumes, ...(extra.mounts ?? [])],
          ...(runtime ? { runtime } : {}),
          labels: {
            ...c.labels,
            [ATTEMPT]: String(c.attempt),
            [SANDBOX]: sandboxId,
            ...(c.init ? { [INIT]: 'true' } : {}),
            ...(c.spec ? { [MESSAGE_POLICY]: c.spec.terminationMessagePolicy } : {}),
          },
        },
      );
    };
    let rec = await create(
      c.imagePullPolicy === 'Always' ? 'always' : c.imagePullPolicy === 'Never' ? 'never' : 'missing',
    );
    // The image's USER is known once it is here: runAsNonRoot is checked against it, and a
    // runAsGroup without runAsUser keeps it with the new group (the container is made again).
    const sec = c.spec?.security;
    if (sec && sb.extras) {
      const imageUser = rec.config.user;
      try {
        if (sec.runAsUser === undefined && sec.runAsGroup !== undefined) {
          await this.removeContainer(rec.id);
          rec = await create('never', imageUser);
        }
        checkRunAsNonRoot(sec, imageUser, sb.pod, c.name);
      } catch (e) {
        await this.removeContainer(rec.id);
        throw e;
      }
    }
    return rec.id;
  }

  /** The PID namespace of a running container, for an ephemeral container that targets it. */
  private targetPidNamespace(id: string): string {
    const rec = this.engine.containers.get(id);
    if (rec.state !== 'running' || !rec.pid)
      throw new ConfigError(`target container ${id.slice(0, 12)} is not running`);
    return `ns:/proc/${rec.pid}/ns/pid`;
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
    const list = this.listRecords(filter);
    for (const c of list) {
      if (c.state !== 'exited') continue;
      const message = await this.messageOf(c);
      if (message) c.message = message;
    }
    return list.map(({ policy: _p, ...c }) => c);
  }

  /**
   * The termination message of an exited container (read once, then remembered): its
   * terminationMessagePath file, or the end of its log as FallbackToLogsOnError says.
   */
  private async messageOf(c: ContainerStatus & { policy?: string }): Promise<string> {
    const known = this.messages.get(c.id);
    if (known !== undefined) return known;
    const file = terminationFile({ dir: join(this.dir, c.sandboxId) }, c.name, c.attempt);
    // The container writes this file: only its start is read, whatever size it grew to.
    const text = existsSync(file) ? readHead(file, MAX_MESSAGE_BYTES) : '';
    let tail = '';
    if (!text && c.policy === 'FallbackToLogsOnError' && c.exitCode !== 0)
      await this.engine.containers.logs(c.id, { tail: FALLBACK_LOG_LINES }, (e) => {
        tail += e.data.toString();
      });
    const message = terminationMessage(
      text,
      c.policy === 'FallbackToLogsOnError' ? c.policy : 'File',
      c.exitCode,
      () => tail,
    );
    if (this.messages.size > 10_000) this.messages.clear();
    this.messages.set(c.id, message);
    return message;
  }

  private listRecords(filter?: { podUid?: string }): (ContainerStatus & { policy?: string })[] {
    const filters = [`label=${PodLabels.uid}${filter?.podUid ? `=${filter.podUid}` : ''}`];
    const records = this.engine.containers.list({ all: true, filters });
    // A listing of every container starts the map again, so that removed ones leave it.
    if (!filter?.podUid) this.pids = new Map();
    for (const r of records)
      if (r.state === 'running' && r.pid) this.pids.set(r.id, r.pid);
      else this.pids.delete(r.id);
    return records.map((r) => {
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
        ...(l[MESSAGE_POLICY] ? { policy: l[MESSAGE_POLICY] } : {}),
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
    const known = this.pids.get(id);
    if (known) return usageOfPid(known);
    const rec = this.engine.containers.get(id);
    return rec.state === 'running' && rec.pid ? usageOfPid(rec.pid) : undefined;
  }

  async containerDiskUsage(id: string): Promise<number | undefined> {
    const { root, runroot } = this.engine.context;
    let bytes = 0;
    try {
      bytes += (await snapshotterOf(root).usage(id)).size;
    } catch (e) {
      // Never started (no snapshot yet), or removed meanwhile: nothing written.
      if (!isNotFound(e)) throw e;
    }
    const logFile = containerPaths({ root, runroot }, id).log;
    if (existsSync(logFile)) bytes += statSync(logFile).size;
    return bytes;
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
            for (const c of cs) {
              const before = this.lastStates.get(c.id);
              // A container that started and ended between two relists is first seen
              // exited: that is a change too (a Job's `echo done`), as the kubelet's PLEG
              // reports a container it did not know as died. The first relist after the
              // agent starts reports nothing: the agent syncs every pod then anyway.
              const changed =
                before === undefined ? this.relisted && c.state === 'exited' : before !== c.state;
              if (changed) for (const l of this.listeners) l(c.pod);
            }
            this.lastStates = now;
            this.relisted = true;
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
