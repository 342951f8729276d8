/**
 * The agent's API calls over a KubeClient: its pods' status and final deletion, and the
 * ConfigMaps and Secrets their containers' environment reads.
 */
import { isNotFound } from '../../core/errors.js';
import type { EventRecorder } from '../client/events.js';
import { type KubeClient, type KubeObject, Resources } from '../client/kube-client.js';
import type { ObjectSource } from './container-config.js';
import type { PodApi, PodEventSink } from './pod-sync.js';

export function clientPodApi(client: KubeClient): PodApi {
  return {
    async patchStatus(namespace, name, status) {
      await client.patchStatus(Resources.pods, namespace, name, { status });
    },
    async deletePod(namespace, name, uid) {
      await client.delete(Resources.pods, namespace, name, { uid, gracePeriodSeconds: 0 });
    },
  };
}

export function clientObjects(client: KubeClient): ObjectSource {
  const get = async (
    r: typeof Resources.configmaps,
    ns: string,
    name: string,
  ): Promise<KubeObject | undefined> => {
    try {
      return await client.get(r, ns, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
  return {
    configMap: (ns, name) => get(Resources.configmaps, ns, name),
    secret: (ns, name) => get(Resources.secrets, ns, name),
  };
}

/** The agent's pod events through a recorder (which aggregates repeats), as the kubelet's. */
export function podEvents(recorder: EventRecorder): PodEventSink {
  return (pod, type, reason, message) =>
    recorder.record(
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.name, namespace: pod.namespace, uid: pod.uid } },
      type,
      reason,
      message,
    );
}
