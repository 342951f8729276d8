/**
 * A PodRuntime in memory: the fake behind `berth sim` and the agent's unit tests (the
 * kubelet's FakeRuntime). Sandboxes get addresses from the node's pod CIDR; containers "run"
 * until stopped, or until the exit the `behaviour` hook schedules for them.
 */
import { randomBytes } from 'node:crypto';
import { notFound } from '../../core/errors.js';
import type {
  ContainerConfig,
  ContainerStatus,
  NodeImage,
  PodRef,
  PodRuntime,
  RuntimeVersion,
  SandboxConfig,
  SandboxStatus,
} from '../agent/runtime.js';

export interface SimRuntimeOptions {
  /** Addresses for sandboxes: the node's pod CIDR's first three octets (`10.42.3`). */
  subnet: string;
  /** The clock (ms). */
  now?: () => number;
  /**
   * How a started container behaves: an exit code and after how long it exits on its own;
   * undefined runs it until it is stopped.
   */
  behaviour?: (pod: PodRef, c: ContainerConfig) => { exitCode: number; afterMs: number } | undefined;
  /** Images the node has; a container of any other image fails to pull (NotFound). Default: any image. */
  images?: string[];
}

interface SimContainer {
  status: ContainerStatus;
  config: ContainerConfig;
  timer?: NodeJS.Timeout;
}

const id = () => randomBytes(16).toString('hex');

export class SimRuntime implements PodRuntime {
  private readonly sandboxes = new Map<string, SandboxStatus>();
  private readonly containers = new Map<string, SimContainer>();
  /** Pod uid -> sandbox and container ids, so one pod's listing does not scan the node. */
  private readonly byPod = new Map<string, Set<string>>();
  private readonly listeners = new Set<(pod: PodRef) => void>();
  private readonly now: () => number;
  private nextHost = 0;

  constructor(private readonly opts: SimRuntimeOptions) {
    this.now = opts.now ?? Date.now;
  }

  async version(): Promise<RuntimeVersion> {
    return { name: 'sim', version: '1' };
  }

  private index(uid: string, idv: string): void {
    let s = this.byPod.get(uid);
    if (!s) {
      s = new Set();
      this.byPod.set(uid, s);
    }
    s.add(idv);
  }

  private unindex(uid: string, idv: string): void {
    const s = this.byPod.get(uid);
    s?.delete(idv);
    if (s?.size === 0) this.byPod.delete(uid);
  }

  async runPodSandbox(config: SandboxConfig): Promise<string> {
    const sid = id();
    this.nextHost = (this.nextHost % 254) + 1;
    this.sandboxes.set(sid, {
      id: sid,
      pod: config.pod,
      state: 'ready',
      createdAt: this.now(),
      ip: config.hostNetwork ? '' : `${this.opts.subnet}.${this.nextHost}`,
    });
    this.index(config.pod.uid, sid);
    return sid;
  }

  async stopPodSandbox(sid: string): Promise<void> {
    const s = this.sandboxes.get(sid);
    if (s) s.state = 'notready';
  }

  async removePodSandbox(sid: string): Promise<void> {
    const s = this.sandboxes.get(sid);
    if (!s) return;
    this.sandboxes.delete(sid);
    this.unindex(s.pod.uid, sid);
  }

  async listPodSandboxes(filter?: { podUid?: string }): Promise<SandboxStatus[]> {
    const all = filter?.podUid
      ? [...(this.byPod.get(filter.podUid) ?? [])].map((k) => this.sandboxes.get(k)!).filter(Boolean)
      : [...this.sandboxes.values()];
    return all.map((s) => ({ ...s }));
  }

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    const s = this.sandboxes.get(sandboxId);
    if (!s) throw notFound(`No such sandbox: ${sandboxId}`);
    if (this.opts.images && !this.opts.images.includes(config.image))
      throw notFound(`Image ${config.image} not found: pull access denied or repository does not exist`);
    const cid = id();
    this.containers.set(cid, {
      config,
      status: {
        id: cid,
        sandboxId,
        pod: s.pod,
        name: config.name,
        attempt: config.attempt,
        init: config.init,
        state: 'created',
        image: config.image,
        imageId: `sha256:${Buffer.from(config.image).toString('hex').padEnd(64, '0').slice(0, 64)}`,
        createdAt: this.now(),
        startedAt: 0,
        finishedAt: 0,
        exitCode: 0,
      },
    });
    this.index(s.pod.uid, cid);
    return cid;
  }

  private get(cid: string): SimContainer {
    const c = this.containers.get(cid);
    if (!c) throw notFound(`No such container: ${cid}`);
    return c;
  }

  async startContainer(cid: string): Promise<void> {
    const c = this.get(cid);
    c.status.state = 'running';
    c.status.startedAt = this.now();
    const b = this.opts.behaviour?.(c.status.pod, c.config);
    if (b) {
      c.timer = setTimeout(() => this.exit(c, b.exitCode), b.afterMs);
      c.timer.unref();
    }
  }

  /** Makes a running container exit now, as if its process ended (tests use it directly). */
  exit(c: SimContainer | string, exitCode: number, reason?: string): void {
    const sc = typeof c === 'string' ? this.get(c) : c;
    if (sc.status.state !== 'running') return;
    clearTimeout(sc.timer);
    sc.status.state = 'exited';
    sc.status.exitCode = exitCode;
    sc.status.finishedAt = this.now();
    if (reason) sc.status.reason = reason;
    for (const l of this.listeners) l(sc.status.pod);
  }

  async stopContainer(cid: string): Promise<void> {
    const c = this.containers.get(cid);
    if (c?.status.state !== 'running') return;
    clearTimeout(c.timer);
    c.status.state = 'exited';
    c.status.exitCode = 137;
    c.status.finishedAt = this.now();
  }

  async removeContainer(cid: string): Promise<void> {
    const c = this.containers.get(cid);
    if (!c) return;
    clearTimeout(c.timer);
    this.containers.delete(cid);
    this.unindex(c.status.pod.uid, cid);
  }

  async listContainers(filter?: { podUid?: string }): Promise<ContainerStatus[]> {
    const all = filter?.podUid
      ? [...(this.byPod.get(filter.podUid) ?? [])]
          .map((k) => this.containers.get(k))
          .filter((c) => c !== undefined)
      : [...this.containers.values()];
    return all.map((c) => ({ ...c.status }));
  }

  async containerStatus(cid: string): Promise<ContainerStatus> {
    return { ...this.get(cid).status };
  }

  async listImages(): Promise<NodeImage[]> {
    return (this.opts.images ?? []).map((n) => ({ names: [n], sizeBytes: 1 << 20 }));
  }

  watchEvents(fn: (pod: PodRef) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Drops every timer (the sim stopping). */
  close(): void {
    for (const c of this.containers.values()) clearTimeout(c.timer);
  }
}
