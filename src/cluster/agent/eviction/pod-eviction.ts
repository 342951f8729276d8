/**
 * What the pod sync writes for the eviction manager: a pod refused at admission, and the
 * status of a pod evicted under node pressure (its containers already killed), both as the
 * kubelet writes them: phase Failed, reason Evicted, its message.
 */
import type { KubeObject } from '../../client/kube-client.js';
import { evictedStatus, podStatus } from '../pod-status.js';
import type { PodApi } from '../pod-sync.js';
import type { PodRef, PodRuntime } from '../runtime.js';

export interface PodEvictionDeps {
  runtime: PodRuntime;
  api: PodApi;
  nodeIP: string;
  now: () => number;
}

/**
 * Refuses a pod new to the node (nothing of it in the runtime yet) for `why`, as the kubelet's
 * rejectPod does; returns its message, or undefined for a pod already running here (never refused).
 */
export async function rejectNewPod(
  ref: PodRef,
  why: string,
  d: PodEvictionDeps,
): Promise<string | undefined> {
  const known =
    (await d.runtime.listPodSandboxes({ podUid: ref.uid })).length > 0 ||
    (await d.runtime.listContainers({ podUid: ref.uid })).length > 0;
  if (known) return undefined;
  const message = `Pod was rejected: ${why}`;
  await d.api.patchStatus(ref.namespace, ref.name, { phase: 'Failed', reason: 'Evicted', message });
  return message;
}

/** Writes the status of an evicted pod whose containers were killed: Failed, Evicted, DisruptionTarget. */
export async function reportEvicted(
  pod: KubeObject,
  ref: PodRef,
  message: string,
  d: PodEvictionDeps,
): Promise<void> {
  const sandbox = (await d.runtime.listPodSandboxes({ podUid: ref.uid }))[0];
  const status = podStatus({
    pod,
    nodeIP: d.nodeIP,
    ...(sandbox ? { sandbox } : {}),
    containers: await d.runtime.listContainers({ podUid: ref.uid }),
    notes: new Map(),
    now: d.now(),
  });
  await d.api.patchStatus(ref.namespace, ref.name, evictedStatus(status, message, d.now()));
}
