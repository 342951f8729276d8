/**
 * A pod's status as the kubelet reports it, computed from what the runtime says (the
 * kubelet's `generateAPIPodStatus` and `getPhase`): container states with their reasons,
 * lastState, restart counts, ids; the phase; the five conditions; addresses and start time.
 * Pure: the same observations give the same status, so the agent writes only on change.
 */

import { transitionTime } from '../api/condition-time.js';
import { metaTime } from '../api/meta-time.js';
import type { KubeObject } from '../client/kube-client.js';
import { qosClass } from './qos.js';
import type { ContainerStatus, SandboxStatus } from './runtime.js';

/** What the sync loop knows about one container of the spec beyond the runtime's list. */
export interface ContainerNote {
  /** Why it is not running, when the agent knows (ErrImagePull, CrashLoopBackOff...). */
  waiting?: { reason: string; message?: string };
  /** What the probes say of a running container (without: started and ready). */
  probed?: { started: boolean; ready: boolean };
}

export interface PodObservation {
  pod: KubeObject;
  nodeIP: string;
  sandbox?: SandboxStatus;
  /** The runtime's containers of this pod, every attempt it keeps. */
  containers: ContainerStatus[];
  notes: Map<string, ContainerNote>;
  now: number;
}

interface SpecContainer {
  name: string;
  image: string;
}

/** RFC 3339 with seconds, as Kubernetes writes times. */

/** The latest and the one before it, per container name (by attempt). */
export function attemptsByName(
  containers: ContainerStatus[],
): Map<string, { latest: ContainerStatus; previous?: ContainerStatus }> {
  const out = new Map<string, { latest: ContainerStatus; previous?: ContainerStatus }>();
  const sorted = [...containers].sort((a, b) => a.attempt - b.attempt || a.createdAt - b.createdAt);
  for (const c of sorted) {
    const cur = out.get(c.name);
    out.set(c.name, { latest: c, ...(cur ? { previous: cur.latest } : {}) });
  }
  return out;
}

function terminated(c: ContainerStatus) {
  return {
    exitCode: c.exitCode,
    reason: c.reason ?? (c.exitCode === 0 ? 'Completed' : 'Error'),
    ...(c.message ? { message: c.message } : {}),
    startedAt: c.startedAt ? metaTime(c.startedAt) : null,
    finishedAt: metaTime(c.finishedAt || c.startedAt || c.createdAt),
    containerID: `berth://${c.id}`,
  };
}

function containerStatus(
  spec: SpecContainer,
  obs: PodObservation,
  byName: ReturnType<typeof attemptsByName>,
) {
  const a = byName.get(spec.name);
  const note = obs.notes.get(spec.name);
  const latest = a?.latest;
  // The last finished run: the latest one if it is waiting to be restarted, else the previous.
  const last = latest?.state === 'exited' && note?.waiting ? latest : a?.previous;
  const base = {
    name: spec.name,
    image: spec.image,
    imageID: latest?.imageId ?? '',
    restartCount: latest ? latest.attempt : 0,
    lastState: last?.state === 'exited' ? { terminated: terminated(last) } : {},
  };
  if (note?.waiting || !latest || latest.state === 'created' || latest.state === 'unknown')
    return {
      ...base,
      ...(latest ? { containerID: `berth://${latest.id}` } : {}),
      ready: false,
      started: false,
      state: { waiting: note?.waiting ?? { reason: 'ContainerCreating' } },
    };
  if (latest.state === 'running')
    return {
      ...base,
      containerID: `berth://${latest.id}`,
      ready: note?.probed?.ready ?? true,
      started: note?.probed?.started ?? true,
      state: { running: { startedAt: metaTime(latest.startedAt) } },
    };
  return {
    ...base,
    containerID: `berth://${latest.id}`,
    ready: false,
    started: false,
    state: { terminated: terminated(latest) },
  };
}

type Status = ReturnType<typeof containerStatus>;

/** The kubelet's getPhase over the container statuses. */
function phaseOf(pod: KubeObject, init: Status[], main: Status[]): string {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  for (const s of init) {
    if (s.state.terminated && s.state.terminated.exitCode === 0) continue;
    if (s.state.terminated && policy === 'Never') return 'Failed';
    return 'Pending';
  }
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of main) {
    if (s.state.running) running++;
    else if (s.state.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if ('terminated' in s.lastState) stopped++;
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped === 0) return 'Pending';
  if (policy === 'Always') return 'Running';
  if (succeeded === stopped) return 'Succeeded';
  return policy === 'OnFailure' ? 'Running' : 'Failed';
}

/** Keeps a condition's lastTransitionTime while its status stays the same. */
function condition(
  pod: KubeObject,
  type: string,
  ok: boolean,
  now: number,
  reason?: string,
): Record<string, unknown> {
  const status = ok ? 'True' : 'False';
  const old = (pod.status?.conditions ?? []).find((c: { type: string }) => c.type === type);
  return {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: transitionTime(old, status, metaTime(now)),
    ...(reason && !ok ? { reason } : {}),
  };
}

/** The status fields the agent owns, for the pod in `obs`. */
export function podStatus(obs: PodObservation): Record<string, unknown> {
  const { pod, now } = obs;
  const byName = attemptsByName(obs.containers);
  const init = (pod.spec?.initContainers ?? []).map((c: SpecContainer) => containerStatus(c, obs, byName));
  const main = (pod.spec?.containers ?? []).map((c: SpecContainer) => containerStatus(c, obs, byName));
  // Ephemeral containers are reported apart and count for neither the phase nor readiness
  // (no probe ever declares them ready, as with the kubelet).
  const ephemeral = (pod.spec?.ephemeralContainers ?? []).map((c: SpecContainer) => ({
    ...containerStatus(c, obs, byName),
    ready: false,
  }));
  const phase = phaseOf(pod, init, main);
  const initialized = init.every((s: Status) => s.state.terminated?.exitCode === 0);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const containersReady = !terminal && main.every((s: Status) => s.ready);
  const notReady = terminal ? 'PodCompleted' : 'ContainersNotReady';
  const podIP = pod.spec?.hostNetwork ? obs.nodeIP : (obs.sandbox?.ip ?? '');
  const startTime = pod.status?.startTime ?? metaTime(obs.sandbox?.createdAt ?? now);
  return {
    phase,
    // The kubelet's order (describe pod lists them so): PodReadyToStartContainers once the
    // sandbox and its network are up, then the other three; the scheduler's PodScheduled last.
    conditions: [
      condition(pod, 'PodReadyToStartContainers', obs.sandbox?.state === 'ready', now),
      condition(pod, 'Initialized', initialized, now, 'ContainersNotInitialized'),
      condition(pod, 'Ready', containersReady, now, notReady),
      condition(pod, 'ContainersReady', containersReady, now, notReady),
      condition(pod, 'PodScheduled', true, now),
    ],
    hostIP: obs.nodeIP,
    hostIPs: [{ ip: obs.nodeIP }],
    ...(podIP ? { podIP, podIPs: [{ ip: podIP }] } : {}),
    startTime,
    ...(init.length ? { initContainerStatuses: init } : {}),
    containerStatuses: main,
    ...(ephemeral.length ? { ephemeralContainerStatuses: ephemeral } : {}),
    qosClass: pod.status?.qosClass ?? qosClass(pod),
  };
}

/**
 * The status of a pod evicted under node pressure, as the kubelet writes it: Failed with
 * reason Evicted and the eviction message, and a DisruptionTarget condition saying why.
 */
export function evictedStatus(
  status: Record<string, unknown>,
  message: string,
  now: number,
): Record<string, unknown> {
  const conditions = ((status.conditions ?? []) as Record<string, unknown>[]).filter(
    (c) => c.type !== 'DisruptionTarget',
  );
  conditions.push({
    type: 'DisruptionTarget',
    status: 'True',
    lastProbeTime: null,
    lastTransitionTime: metaTime(now),
    reason: 'TerminationByKubelet',
    message,
  });
  return { ...status, phase: 'Failed', reason: 'Evicted', message, conditions };
}

/**
 * Whether two values are the same JSON: object keys in any order (the API may hand them back
 * in another order than written), a key holding undefined the same as no key and undefined
 * the same as null, as JSON.stringify writes them. A walk that allocates nothing: comparing
 * sorted JSON texts instead built strings for every status an update carried, and its
 * recursion, meeting each new shape of container state, was deoptimised and compiled again
 * three times during a 100-pod Deployment.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || a === undefined || b === null || b === undefined)
    return (a === null || a === undefined) && (b === null || b === undefined);
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const k of Object.keys(x)) {
    if (x[k] === undefined) continue;
    keys++;
    if (!Object.hasOwn(y, k) || y[k] === undefined || !sameJson(x[k], y[k])) return false;
  }
  for (const k of Object.keys(y)) if (y[k] !== undefined) keys--;
  return keys === 0;
}

/** Whether the stored status already says what `want` says (ignoring fields others own). */
export function statusMatches(
  stored: Record<string, unknown> | undefined,
  want: Record<string, unknown>,
): boolean {
  if (!stored) return false;
  for (const [k, v] of Object.entries(want)) {
    if (k === 'conditions') {
      const have =
        (stored.conditions as { type: string; status: string; lastTransitionTime?: string }[]) ?? [];
      for (const c of v as { type: string; status: string; lastTransitionTime: string }[]) {
        const h = have.find((x) => x.type === c.type);
        if (!h || h.status !== c.status) return false;
      }
      continue;
    }
    if (!sameJson(stored[k], v)) return false;
  }
  return true;
}

export { qosClass };
