/**
 * The EndpointSlice controller: for every Service with a selector, EndpointSlices
 * (`discovery.k8s.io/v1`, at most 100 endpoints each, one port list per slice) labelled
 * `kubernetes.io/service-name` and managed by `endpointslice-controller.k8s.io`, owned by
 * the Service (so the garbage collector removes them with it). Endpoints carry the ready,
 * serving and terminating conditions, the node and the pod. Slices are reused in name
 * order and rewritten only when their content changes.
 */
import { unlessNotFound } from '../../core/errors.js';
import { controllerRefOf } from '../client/controller-ref.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import { type ControllerSpec, inNamespace } from './context.js';
import { queueServicesAndTheirPods } from './endpoints.js';
import {
  groupByPorts,
  managed,
  podTargetRef,
  type ServiceEndpoint,
  serviceEndpoints,
} from './service-pods.js';

export const SERVICE_NAME = 'kubernetes.io/service-name';
export const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
const CONTROLLER = 'endpointslice-controller.k8s.io';
const MAX_PER_SLICE = 100;

export interface SliceCaches {
  service(key: string): KubeObject | undefined;
  podsIn(namespace: string): KubeObject[];
  /** The slices this controller manages for a Service (`namespace/name`). */
  slicesOf(key: string): KubeObject[];
}

export interface SliceActions {
  create(ns: string, slice: KubeObject): Promise<unknown>;
  update(slice: KubeObject): Promise<unknown>;
  delete(ns: string, name: string): Promise<unknown>;
}

const endpointOf = (e: ServiceEndpoint) => ({
  addresses: [e.ip],
  ...(e.hostname ? { hostname: e.hostname } : {}),
  conditions: { ready: e.ready && !e.terminating, serving: e.ready, terminating: e.terminating },
  ...(e.pod.spec?.nodeName ? { nodeName: e.pod.spec.nodeName } : {}),
  targetRef: podTargetRef(e.pod),
});

/** The desired slice bodies: endpoints grouped by their resolved ports, 100 at most per slice. */
export function desiredSlices(eps: readonly ServiceEndpoint[]): { ports: object[]; endpoints: object[] }[] {
  const out: { ports: object[]; endpoints: object[] }[] = [];
  for (const g of groupByPorts(eps)) {
    const endpoints = g.endpoints.map(endpointOf);
    for (let i = 0; i < endpoints.length; i += MAX_PER_SLICE)
      out.push({ ports: g.ports, endpoints: endpoints.slice(i, i + MAX_PER_SLICE) });
  }
  return out;
}

export async function syncSlices(key: string, caches: SliceCaches, act: SliceActions): Promise<void> {
  const ns = key.split('/')[0]!;
  const svc = caches.service(key);
  const existing = caches
    .slicesOf(key)
    .sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
  // Gone or unmanaged: the garbage collector removes owned slices; ours are removed here too.
  const want = svc && managed(svc) ? desiredSlices(serviceEndpoints(svc, caches.podsIn(ns))) : [];
  if (svc && managed(svc) && want.length === 0) want.push({ ports: [], endpoints: [] });
  for (let i = 0; i < Math.max(want.length, existing.length); i++) {
    const w = want[i];
    const cur = existing[i];
    if (!w) {
      await unlessNotFound(act.delete(ns, cur!.metadata.name!));
      continue;
    }
    const labels = {
      ...(svc!.metadata.labels ?? {}),
      [SERVICE_NAME]: svc!.metadata.name!,
      [MANAGED_BY]: CONTROLLER,
    };
    if (!cur) {
      await act.create(ns, {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          generateName: `${svc!.metadata.name}-`,
          namespace: ns,
          labels,
          ownerReferences: [controllerRefOf(svc!, 'v1', 'Service')],
        },
        addressType: 'IPv4',
        endpoints: w.endpoints,
        ports: w.ports,
      });
      continue;
    }
    const same =
      JSON.stringify(cur.endpoints ?? []) === JSON.stringify(w.endpoints) &&
      JSON.stringify(cur.ports ?? []) === JSON.stringify(w.ports) &&
      JSON.stringify(cur.metadata.labels ?? {}) === JSON.stringify(labels);
    if (!same)
      await act.update({
        ...cur,
        metadata: { ...cur.metadata, labels },
        endpoints: w.endpoints,
        ports: w.ports,
      });
  }
}

export const endpointSliceController: ControllerSpec = {
  name: 'endpointslice',
  start(ctx) {
    const services = ctx.informer(Resources.services);
    const slices = ctx.informer(Resources.endpointslices);
    const pods = ctx.informer(Resources.pods);
    slices.addIndex('service', (s) =>
      s.metadata.labels?.[MANAGED_BY] === CONTROLLER && s.metadata.labels?.[SERVICE_NAME]
        ? [`${s.metadata.namespace}/${s.metadata.labels[SERVICE_NAME]}`]
        : [],
    );
    // Slices created but not yet in the cache (their names are generated): without them a
    // second pass before the watch catches up would create the same slice twice.
    const created = new Map<string, KubeObject[]>();
    const q = ctx.queue(
      (key) =>
        syncSlices(
          key,
          {
            service: (k) => services.get(k),
            podsIn: (ns) => inNamespace(pods, ns),
            slicesOf: (k) => {
              const cached = slices.byIndex('service', k);
              const fresh = (created.get(k) ?? []).filter(
                (c) => !cached.some((x) => x.metadata.name === c.metadata.name),
              );
              if (fresh.length) created.set(k, fresh);
              else created.delete(k);
              return [...cached, ...fresh];
            },
          },
          {
            create: async (ns, s) => {
              const out = await ctx.client.create(Resources.endpointslices, ns, s);
              const k = `${ns}/${s.metadata.labels?.[SERVICE_NAME]}`;
              created.set(k, [...(created.get(k) ?? []), out]);
            },
            update: (s) => ctx.client.update(Resources.endpointslices, s),
            delete: (ns, name) => ctx.client.delete(Resources.endpointslices, ns, name),
          },
        ),
      4,
    );
    queueServicesAndTheirPods(services, pods, q);
    const onSlice = (s: KubeObject) => {
      const svc = s.metadata.labels?.[SERVICE_NAME];
      if (s.metadata.labels?.[MANAGED_BY] === CONTROLLER && svc) q.add(`${s.metadata.namespace}/${svc}`);
    };
    slices.onUpdate(onSlice).onDelete(onSlice);
  },
};
