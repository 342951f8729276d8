/**
 * The agent's API calls over a KubeClient: its pods' status and final deletion, the
 * ConfigMaps and Secrets their containers' environment and volumes read, their claims and
 * volumes, and tokens for their ServiceAccounts.
 */
import { internal, isNotFound } from '../../core/errors.js';
import type { EventRecorder } from '../client/events.js';
import { type KubeClient, type KubeObject, pathOf, type Resource, Resources } from '../client/kube-client.js';
import type { ObjectSource } from './container-config.js';
import type { PodApi, PodEventSink } from './pod-sync.js';
import type { ClaimSource } from './volumes/manager.js';
import type { VolumeSources } from './volumes/payload.js';
import { type IssuedToken, ServiceAccountTokens } from './volumes/tokens.js';

/**
 * The status patch the agent sends: a strategic merge patch of its whole status, in which the
 * address lists replace the stored ones. Their items merge by `ip`, so without the directive
 * an address that changed stayed beside the new one, the stored status never matched the one
 * reported again, and the pod's status was written again on every sync (thousands of times a
 * minute, each racing other writers' updates). Conditions still merge by type: those others
 * wrote (DisruptionTarget...) stay.
 */
export function statusPatch(status: Record<string, unknown>): { status: Record<string, unknown> } {
  const out = { ...status };
  for (const list of ['hostIPs', 'podIPs'])
    if (Array.isArray(out[list])) out[list] = [...(out[list] as unknown[]), { $patch: 'replace' }];
  return { status: out };
}

export function clientPodApi(client: KubeClient): PodApi {
  return {
    async patchStatus(namespace, name, status) {
      await client.patchStatus(Resources.pods, namespace, name, statusPatch(status));
    },
    async deletePod(namespace, name, uid) {
      await client.delete(Resources.pods, namespace, name, { uid, gracePeriodSeconds: 0 });
    },
  };
}

/** One object, or undefined when the API has no such object. */
async function getIfAny(
  client: KubeClient,
  r: Resource,
  ns: string | undefined,
  name: string,
): Promise<KubeObject | undefined> {
  try {
    return await client.get(r, ns, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/**
 * ConfigMaps and Secrets, where reads of one object that overlap share one request: every pod
 * of a namespace projects its kube-root-ca.crt, so a Deployment's pods starting together, and
 * each 10 s refresh of the running pods' volumes, asked for the same object once per pod. A
 * read that joins a request under way gets an answer at most that request's round trip older
 * than its own would have been: fresher than the kubelet's watch-fed cache promises.
 */
export function clientObjects(client: KubeClient): ObjectSource {
  const inflight = new Map<string, Promise<KubeObject | undefined>>();
  const shared = (r: Resource, ns: string, name: string) => {
    const key = `${r.plural}/${ns}/${name}`;
    let p = inflight.get(key);
    if (!p) {
      p = getIfAny(client, r, ns, name).finally(() => inflight.delete(key));
      inflight.set(key, p);
    }
    // Each reader gets its own copy: callers may change what they are given.
    return p.then((o) => (o ? structuredClone(o) : undefined));
  };
  return {
    configMap: (ns, name) => shared(Resources.configmaps, ns, name),
    secret: (ns, name) => shared(Resources.secrets, ns, name),
  };
}

/**
 * What the volume manager reads: the objects above, claims and their volumes (the node role
 * may `get` each, not list or watch them), and pod-bound ServiceAccount tokens.
 */
export function clientVolumeSources(client: KubeClient, events: PodEventSink): VolumeSources & ClaimSource {
  const tokens = new ServiceAccountTokens(async (ns, name, body) => {
    const answer = await client.request('POST', pathOf(Resources.serviceaccounts, ns, name, 'token'), body);
    const status = (answer as { status?: IssuedToken }).status;
    if (!status?.token) throw internal(`The API answered the TokenRequest for ${ns}/${name} without a token`);
    return status;
  });
  return {
    ...clientObjects(client),
    claim: (ns, name) => getIfAny(client, Resources.persistentvolumeclaims, ns, name),
    persistentVolume: (name) => getIfAny(client, Resources.persistentvolumes, undefined, name),
    token: (pod, audience, seconds) => tokens.get(pod, audience, seconds),
    forget: (uid) => tokens.forget(uid),
    warn: async (pod, reason, message) =>
      events(
        {
          uid: pod.metadata.uid ?? '',
          name: pod.metadata.name ?? '',
          namespace: pod.metadata.namespace ?? '',
        },
        'Warning',
        reason,
        message,
      ),
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
