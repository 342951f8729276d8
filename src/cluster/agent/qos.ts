/**
 * Requests and limits as the kubelet turns them into cgroups (its `qos` and `cm` packages,
 * cgroupfs driver): the pod's QoS class, where its cgroup sits under `kubepods`, the pod
 * cgroup's values and each container's. Pure: cgroups.ts writes them.
 */
import { milliCpu, parseQuantity } from '../scheduler/quantity.js';

export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

type Quantity = string | number;
interface Resources {
  requests?: Record<string, Quantity>;
  limits?: Record<string, Quantity>;
}
interface SpecContainer {
  resources?: Resources;
}
/** A pod as the API server or the agent holds it; only its containers are read. */
// biome-ignore lint/suspicious/noExplicitAny: the pod spec is untyped JSON here
type KubeObject = { spec?: any };

/** One cgroup's values; absent means unlimited (or the default weight). */
export interface CgroupValues {
  /** cpu.shares (v1); the v2 weight is derived from it as runc does. */
  cpuShares: number;
  /** CFS quota in µs per `cpuPeriod`. */
  cpuQuota?: number;
  cpuPeriod?: number;
  memoryLimit?: number;
  pidsLimit?: number;
}

/** The kubelet's MinShares, SharesPerCPU and CFS period. */
const MIN_SHARES = 2;
const SHARES_PER_CPU = 1024;
const QUOTA_PERIOD = 100_000;
const MIN_QUOTA = 1000;

const containersOf = (pod: KubeObject) => ({
  init: (pod.spec?.initContainers ?? []) as SpecContainer[],
  app: (pod.spec?.containers ?? []) as SpecContainer[],
});

/** A container's limit of `r` in cpu millis or bytes (undefined when none). */
function limitOf(c: SpecContainer, r: 'cpu' | 'memory'): number | undefined {
  const q = c.resources?.limits?.[r];
  if (q === undefined) return undefined;
  return r === 'cpu' ? milliCpu(q) : parseQuantity(q);
}

/** A container's request of `r`: requests default to limits, as the API's defaulting does. */
function requestOf(c: SpecContainer, r: 'cpu' | 'memory'): number | undefined {
  const q = c.resources?.requests?.[r];
  if (q === undefined) return limitOf(c, r);
  return r === 'cpu' ? milliCpu(q) : parseQuantity(q);
}

/**
 * The pod's QoS class (Kubernetes' GetPodQOS, over cpu and memory of every container):
 * BestEffort without any request or limit; Guaranteed when every container has cpu and
 * memory limits equal to its requests; Burstable otherwise.
 */
export function qosClass(pod: KubeObject): QosClass {
  const { init, app } = containersOf(pod);
  const all = [...init, ...app];
  let any = false;
  let guaranteed = all.length > 0;
  for (const c of all)
    for (const r of ['cpu', 'memory'] as const) {
      const req = requestOf(c, r);
      const lim = limitOf(c, r);
      if (req || lim) any = true;
      if (!lim || req !== lim) guaranteed = false;
    }
  return !any ? 'BestEffort' : guaranteed ? 'Guaranteed' : 'Burstable';
}

/** cpu.shares for a cpu request in millis (the kubelet's MilliCPUToShares). */
export function sharesFor(milli: number): number {
  if (!milli) return MIN_SHARES;
  return Math.max(MIN_SHARES, Math.floor((milli * SHARES_PER_CPU) / 1000));
}

/** The CFS quota for a cpu limit in millis (the kubelet's MilliCPUToQuota). */
export function quotaFor(milli: number): number {
  return Math.max(MIN_QUOTA, Math.floor((milli * QUOTA_PERIOD) / 1000));
}

/** A container's own cgroup: shares from its request, quota and memory from its limits. */
export function containerCgroup(c: SpecContainer): CgroupValues {
  const cpuLimit = limitOf(c, 'cpu');
  const mem = limitOf(c, 'memory');
  return {
    cpuShares: sharesFor(requestOf(c, 'cpu') ?? 0),
    ...(cpuLimit ? { cpuQuota: quotaFor(cpuLimit), cpuPeriod: QUOTA_PERIOD } : {}),
    ...(mem ? { memoryLimit: mem } : {}),
  };
}

/**
 * The pod's total of `get` the way Kubernetes sums a pod (PodRequests/PodLimits): the app
 * containers together, or the largest init container when that is more (they run one at a time).
 */
function podTotal(pod: KubeObject, get: (c: SpecContainer) => number): number {
  const { init, app } = containersOf(pod);
  const sum = app.reduce((n, c) => n + get(c), 0);
  return Math.max(sum, ...init.map(get));
}

/**
 * The pod cgroup's values (the kubelet's ResourceConfigForPod): shares from the summed cpu
 * requests; a cpu quota and a memory limit only when every container declares that limit;
 * a BestEffort pod gets the minimum shares and no limits. `podPidsLimit` (the kubelet's
 * --pod-max-pids) applies to every pod when positive.
 */
export function podCgroup(pod: KubeObject, podPidsLimit = 0): CgroupValues {
  const qos = qosClass(pod);
  const { init, app } = containersOf(pod);
  const all = [...init, ...app];
  const pids = podPidsLimit > 0 ? { pidsLimit: podPidsLimit } : {};
  if (qos === 'BestEffort') return { cpuShares: MIN_SHARES, ...pids };
  const cpuAll = all.every((c) => limitOf(c, 'cpu'));
  const memAll = all.every((c) => limitOf(c, 'memory'));
  return {
    cpuShares: sharesFor(podTotal(pod, (c) => requestOf(c, 'cpu') ?? 0)),
    ...(cpuAll
      ? { cpuQuota: quotaFor(podTotal(pod, (c) => limitOf(c, 'cpu') ?? 0)), cpuPeriod: QUOTA_PERIOD }
      : {}),
    ...(memAll ? { memoryLimit: podTotal(pod, (c) => limitOf(c, 'memory') ?? 0) } : {}),
    ...pids,
  };
}

/** The pod's cgroup (cgroupfs form): `/kubepods/pod<uid>`, or under `burstable`/`besteffort`. */
export function podCgroupPath(uid: string, qos: QosClass): string {
  const tier = qos === 'Guaranteed' ? '' : `/${qos.toLowerCase()}`;
  return `/kubepods${tier}/pod${uid}`;
}
