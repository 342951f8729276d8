/**
 * The pods behind a Service, as both the Endpoints and the EndpointSlice controllers see
 * them: selected by the Service's selector, with an address, not finished; ready or not
 * (publishNotReadyAddresses counts all as ready); terminating ones are reported as such;
 * each Service port resolved against the pod (a named targetPort is looked up among the
 * pod's container ports, and a pod without that port is left out of it).
 */
import { selectorMatcher } from '../api/selectors.js';
import type { KubeObject } from '../client/kube-client.js';
import { isPodReady, isPodTerminal } from './pods.js';

export interface ServiceEndpoint {
  pod: KubeObject;
  ip: string;
  ready: boolean;
  terminating: boolean;
  /** The pod's spec.hostname when its spec.subdomain names this Service (its DNS name under it). */
  hostname?: string;
  /** Service port name -> the port number on this pod. */
  ports: Map<string, { port: number; protocol: string }>;
}

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
}

/** True for Services whose endpoints the controllers manage (those with a selector). */
export function managed(svc: KubeObject): boolean {
  const sel = svc.spec?.selector as Record<string, string> | undefined;
  return !!sel && Object.keys(sel).length > 0 && svc.spec?.type !== 'ExternalName';
}

/** The pods a Service selects (of `candidates`, its namespace's pods), as endpoints. */
export function serviceEndpoints(svc: KubeObject, candidates: readonly KubeObject[]): ServiceEndpoint[] {
  const match = selectorMatcher({ matchLabels: svc.spec?.selector ?? {} });
  const ports = (svc.spec?.ports ?? []) as ServicePort[];
  const allReady = svc.spec?.publishNotReadyAddresses === true;
  const out: ServiceEndpoint[] = [];
  for (const pod of candidates) {
    const ip = pod.status?.podIP as string | undefined;
    if (!ip || isPodTerminal(pod) || !match(pod.metadata.labels)) continue;
    const resolved = new Map<string, { port: number; protocol: string }>();
    for (const p of ports) {
      const protocol = p.protocol ?? 'TCP';
      const t = p.targetPort ?? p.port;
      let port: number | undefined =
        typeof t === 'number' ? t : Number.isInteger(Number(t)) ? Number(t) : undefined;
      if (port === undefined) {
        for (const c of pod.spec?.containers ?? [])
          for (const cp of c.ports ?? [])
            if (cp.name === t && (cp.protocol ?? 'TCP') === protocol) port = cp.containerPort;
      }
      if (port !== undefined) resolved.set(p.name ?? '', { port, protocol });
    }
    out.push({
      pod,
      ip,
      ready: allReady || (isPodReady(pod) && !pod.metadata.deletionTimestamp),
      terminating: !!pod.metadata.deletionTimestamp,
      ...(pod.spec?.hostname && pod.spec?.subdomain === svc.metadata.name
        ? { hostname: String(pod.spec.hostname) }
        : {}),
      ports: resolved,
    });
  }
  // Stable order, so an unchanged set of pods writes nothing.
  return out.sort(
    (a, b) =>
      a.ip.localeCompare(b.ip) || String(a.pod.metadata.name).localeCompare(String(b.pod.metadata.name)),
  );
}

/** A Service port as resolved on a pod (`name` is empty for the one unnamed port). */
export interface ResolvedPort {
  name: string;
  port: number;
  protocol: string;
}

/**
 * The endpoints grouped by the ports they resolve to (sorted by name), in the order first
 * seen: an Endpoints subset, or an EndpointSlice, holds the pods that agree on every port.
 */
export function groupByPorts(
  eps: readonly ServiceEndpoint[],
): { ports: ResolvedPort[]; endpoints: ServiceEndpoint[] }[] {
  const groups = new Map<string, { ports: ResolvedPort[]; endpoints: ServiceEndpoint[] }>();
  for (const e of eps) {
    const ports = [...e.ports]
      .map(([name, p]) => ({ name, port: p.port, protocol: p.protocol }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const sig = JSON.stringify(ports);
    let g = groups.get(sig);
    if (!g) {
      g = { ports, endpoints: [] };
      groups.set(sig, g);
    }
    g.endpoints.push(e);
  }
  return [...groups.values()];
}

/** The `targetRef` an Endpoints address or an EndpointSlice endpoint names its pod with. */
export const podTargetRef = (pod: KubeObject) => ({
  kind: 'Pod',
  namespace: pod.metadata.namespace,
  name: pod.metadata.name,
  uid: pod.metadata.uid,
});
