/**
 * The Endpoints controller: for every Service with a selector, an Endpoints object of the
 * same name listing the selected pods' addresses (ready ones under `addresses`, the others
 * under `notReadyAddresses`), grouped into subsets by the ports they resolve to. Services
 * without a selector keep Endpoints their users write; a deleted Service's Endpoints go.
 */
import { unlessNotFound } from '../../core/errors.js';
import { type Informer, keyOf } from '../client/informer.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import type { WorkQueue } from '../client/work-queue.js';
import { type ControllerSpec, inNamespace } from './context.js';
import {
  groupByPorts,
  managed,
  podTargetRef,
  type ServiceEndpoint,
  serviceEndpoints,
} from './service-pods.js';

export interface EndpointsCaches {
  service(key: string): KubeObject | undefined;
  endpoints(key: string): KubeObject | undefined;
  podsIn(namespace: string): KubeObject[];
}

export interface EndpointsActions {
  create(ns: string, ep: KubeObject): Promise<unknown>;
  update(ep: KubeObject): Promise<unknown>;
  delete(ns: string, name: string): Promise<unknown>;
}

const address = (e: ServiceEndpoint) => ({
  ip: e.ip,
  ...(e.hostname ? { hostname: e.hostname } : {}),
  ...(e.pod.spec?.nodeName ? { nodeName: e.pod.spec.nodeName } : {}),
  targetRef: podTargetRef(e.pod),
});

/** The subsets for these endpoints: one per distinct set of resolved ports. */
export function subsetsOf(eps: readonly ServiceEndpoint[]): object[] {
  return groupByPorts(eps.filter((e) => !e.terminating && e.ports.size > 0)).map((g) => {
    const ready = g.endpoints.filter((e) => e.ready).map(address);
    const notReady = g.endpoints.filter((e) => !e.ready).map(address);
    return {
      ...(ready.length ? { addresses: ready } : {}),
      ...(notReady.length ? { notReadyAddresses: notReady } : {}),
      // An Endpoints port leaves out an empty name.
      ports: g.ports.map(({ name, ...p }) => ({ ...(name ? { name } : {}), ...p })),
    };
  });
}

export async function syncEndpoints(
  key: string,
  caches: EndpointsCaches,
  act: EndpointsActions,
): Promise<void> {
  const [ns, name] = key.split('/') as [string, string];
  const svc = caches.service(key);
  const cur = caches.endpoints(key);
  if (!svc) {
    if (cur) await unlessNotFound(act.delete(ns, name));
    return;
  }
  if (!managed(svc)) return;
  const subsets = subsetsOf(serviceEndpoints(svc, caches.podsIn(ns)));
  const labels = {
    ...(svc.metadata.labels ?? {}),
    'endpoints.kubernetes.io/managed-by': 'endpoint-controller',
  };
  if (!cur) {
    // AlreadyExists is not swallowed: it means the cache has not yet seen the Endpoints this
    // controller created a moment ago (a pod's change queued the Service again right behind
    // that create). Swallowed, the newer subsets were lost until the next change (kubectl's
    // `services/NAME/proxy` answered "no endpoints available" for 20 s after a rollout); the
    // queue's retry finds the object in the cache and updates it.
    await act.create(ns, {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name, namespace: ns, labels },
      subsets,
    });
    return;
  }
  const same =
    JSON.stringify(cur.subsets ?? []) === JSON.stringify(subsets) &&
    JSON.stringify(cur.metadata.labels ?? {}) === JSON.stringify(labels);
  if (!same) await act.update({ ...cur, metadata: { ...cur.metadata, labels }, subsets });
}

/** Services in the pod's namespace that select it (before or after a change). */
export function servicesFor(services: readonly KubeObject[], ...pods: (KubeObject | undefined)[]): string[] {
  const out = new Set<string>();
  for (const svc of services) {
    if (!managed(svc)) continue;
    const sel = svc.spec.selector as Record<string, string>;
    for (const p of pods) {
      if (!p) continue;
      const labels = p.metadata.labels ?? {};
      if (Object.entries(sel).every(([k, v]) => labels[k] === v)) out.add(keyOf(svc));
    }
  }
  return [...out];
}

/**
 * Queues a Service whenever it changes, and the Services that select a pod (before or after
 * its change) whenever the pod changes: what both the Endpoints and the EndpointSlice
 * controllers react to.
 */
export function queueServicesAndTheirPods(services: Informer, pods: Informer, q: WorkQueue): void {
  services
    .onAdd((s) => q.add(keyOf(s)))
    .onUpdate((s) => q.add(keyOf(s)))
    .onDelete((s) => q.add(keyOf(s)));
  const onPod = (p: KubeObject, old?: KubeObject) => {
    for (const k of servicesFor(inNamespace(services, p.metadata.namespace ?? ''), p, old)) q.add(k);
  };
  pods.onAdd(onPod).onUpdate(onPod).onDelete(onPod);
}

export const endpointsController: ControllerSpec = {
  name: 'endpoints',
  start(ctx) {
    const services = ctx.informer(Resources.services);
    const endpoints = ctx.informer(Resources.endpoints);
    const pods = ctx.informer(Resources.pods);
    const q = ctx.queue(
      (key) =>
        syncEndpoints(
          key,
          {
            service: (k) => services.get(k),
            endpoints: (k) => endpoints.get(k),
            podsIn: (ns) => inNamespace(pods, ns),
          },
          {
            create: (ns, ep) => ctx.client.create(Resources.endpoints, ns, ep),
            update: (ep) => ctx.client.update(Resources.endpoints, ep),
            delete: (ns, name) => ctx.client.delete(Resources.endpoints, ns, name),
          },
        ),
      4,
    );
    queueServicesAndTheirPods(services, pods, q);
    // Someone else changed or removed the Endpoints of a managed Service: put them right.
    endpoints.onUpdate((e) => q.add(keyOf(e))).onDelete((e) => q.add(keyOf(e)));
  },
};
