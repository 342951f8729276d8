/**
 * The node's and its pods' CPU and memory, in the shape of the kubelet's Summary API
 * (`/stats/summary`), which the API server's metrics.k8s.io reads as metrics-server does.
 * CPU is a rate (usageNanoCores): the difference of two samples at least a second apart.
 * A background sample every 10 s keeps a recent one, so a request gets a rate at once.
 */
import { metaTime } from '../../api/meta-time.js';
import type { PodRuntime } from '../runtime.js';
import { nodeUsage, type Usage } from './cgroup-usage.js';

export interface UsageFigures {
  time: string;
  usageNanoCores?: number;
  usageCoreNanoSeconds: number;
}

export interface Summary {
  node: { nodeName: string; cpu: UsageFigures; memory: { time: string; workingSetBytes: number } };
  pods: {
    podRef: { name: string; namespace: string; uid: string };
    containers: { name: string; cpu: UsageFigures; memory: { time: string; workingSetBytes: number } }[];
  }[];
}

export interface ResourceSummaryOptions {
  nodeName: string;
  runtime: () => Pick<PodRuntime, 'listContainers' | 'containerUsage'> | undefined;
  now?: () => number;
  /** The machine's usage (tests give their own). */
  node?: () => Usage;
  sampleMs?: number;
}

/** Samples closer together than this give no new rate (the old one stands). */
const MIN_WINDOW_MS = 1000;

export class ResourceSummary {
  private readonly last = new Map<string, { at: number; cpu: number; rate?: number }>();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly opts: ResourceSummaryOptions) {
    this.now = opts.now ?? Date.now;
    this.timer = setInterval(() => void this.summary().catch(() => undefined), opts.sampleMs ?? 10_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Records a sample of `key`; returns its CPU rate in nanocores, once there is one. */
  private rate(key: string, at: number, cpu: number): number | undefined {
    const e = this.last.get(key);
    if (e && at - e.at < MIN_WINDOW_MS) return e.rate;
    const rate = e && cpu >= e.cpu ? Math.round(((cpu - e.cpu) * 1000) / (at - e.at)) : undefined;
    this.last.set(key, { at, cpu, ...(rate !== undefined ? { rate } : {}) });
    return rate;
  }

  private figures(key: string, at: number, u: Usage) {
    const time = metaTime(at);
    const rate = this.rate(key, at, u.cpuNanos);
    return {
      cpu: {
        time,
        ...(rate !== undefined ? { usageNanoCores: rate } : {}),
        usageCoreNanoSeconds: u.cpuNanos,
      },
      memory: { time, workingSetBytes: u.workingSetBytes },
    };
  }

  async summary(): Promise<Summary> {
    const at = this.now();
    const { cpu, memory } = this.figures('node', at, (this.opts.node ?? nodeUsage)());
    const out: Summary = { node: { nodeName: this.opts.nodeName, cpu, memory }, pods: [] };
    const runtime = this.opts.runtime();
    const seen = new Set<string>(['node']);
    for (const c of runtime?.containerUsage ? await runtime.listContainers() : []) {
      if (c.state !== 'running') continue;
      const u = await runtime?.containerUsage?.(c.id);
      if (!u) continue;
      seen.add(c.id);
      let pod = out.pods.find((p) => p.podRef.uid === c.pod.uid);
      if (!pod) {
        pod = { podRef: { ...c.pod }, containers: [] };
        out.pods.push(pod);
      }
      pod.containers.push({ name: c.name, ...this.figures(c.id, at, u) });
    }
    for (const k of this.last.keys()) if (!seen.has(k)) this.last.delete(k);
    return out;
  }
}
