/**
 * What a node's proxy must do, worked out from Services and EndpointSlices alone (no
 * firewall syntax here): one ServicePort per port of every Service that gets rules, with the
 * addresses it answers on and the ready endpoints its traffic may go to. Pure, so the rule
 * text built from it can be tested without a kernel.
 */
import type { KubeObject } from '../client/kube-client.js';

/**
 * Services with this annotation are served by something on every node itself (the cluster
 * DNS listener at --cluster-dns), so the proxy leaves their ClusterIP alone.
 */
export const NODE_LOCAL_ANNOTATION = 'berth.dev/node-local';
/** The EndpointSlice label naming its Service. */
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export type Protocol = 'tcp' | 'udp' | 'sctp';

export interface ProxyEndpoint {
  ip: string;
  port: number;
  /** On this node (externalTrafficPolicy and internalTrafficPolicy Local use only these). */
  local: boolean;
}

export interface ServicePort {
  /** `namespace/name/port` (the port's name, or its number when unnamed): stable, readable. */
  id: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  /** NodePort and LoadBalancer Services: the port on every node address. */
  nodePort?: number;
  /** Load balancer ingress IPs (from status) and spec.externalIPs: traffic to IP:port. */
  externalIPs: string[];
  /** externalTrafficPolicy Local: node port and external traffic only to local endpoints, source kept. */
  externalLocal: boolean;
  /** internalTrafficPolicy Local: ClusterIP traffic only to local endpoints. */
  internalLocal: boolean;
  /** sessionAffinity ClientIP: a client keeps its endpoint for this many seconds. */
  affinitySeconds?: number;
  /** Ready endpoints, sorted by address then port. Terminating ones are left out. */
  endpoints: ProxyEndpoint[];
}

const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const defaultAffinitySeconds = 10_800;

/** Whether the proxy programs rules for this Service at all. */
export function proxied(svc: KubeObject): boolean {
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName') return false; // DNS answers with a CNAME; nothing to route
  if (svc.metadata.annotations?.[NODE_LOCAL_ANNOTATION] === 'true') return false;
  const ip = spec.clusterIP as string | undefined;
  return !!ip && ip !== 'None' && ipv4.test(ip); // headless: no virtual IP
}

interface SlicePort {
  name?: string;
  port?: number;
  protocol?: string;
}
interface SliceEndpoint {
  addresses?: string[];
  conditions?: { ready?: boolean | null };
  nodeName?: string;
}

/** Ready endpoints for one Service port, resolved by the port's name in each slice. */
function endpointsFor(
  slices: readonly KubeObject[],
  portName: string,
  protocol: string,
  nodeName: string,
): ProxyEndpoint[] {
  const seen = new Map<string, ProxyEndpoint>();
  for (const slice of slices) {
    if (slice.addressType !== undefined && slice.addressType !== 'IPv4') continue;
    const sp = ((slice.ports ?? []) as SlicePort[]).find(
      (p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === protocol,
    );
    if (!sp?.port) continue;
    for (const e of (slice.endpoints ?? []) as SliceEndpoint[]) {
      // A nil ready condition means ready (discovery/v1); terminating endpoints are not ready
      // and only keep the connections they already have (their conntrack entries).
      if (e.conditions?.ready === false) continue;
      const ip = e.addresses?.[0];
      if (!ip || !ipv4.test(ip)) continue;
      seen.set(`${ip}:${sp.port}`, { ip, port: sp.port, local: e.nodeName === nodeName });
    }
  }
  return [...seen.values()].sort((a, b) => ipOrder(a.ip, b.ip) || a.port - b.port);
}

const ipNumber = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const ipOrder = (a: string, b: string) => ipNumber(a) - ipNumber(b);

/**
 * The ports the proxy programs, from every Service and EndpointSlice in the cluster, for the
 * node `nodeName`; sorted by id, so the same objects always give the same rules.
 */
export function servicePorts(
  services: readonly KubeObject[],
  slices: readonly KubeObject[],
  nodeName: string,
): ServicePort[] {
  const slicesBySvc = new Map<string, KubeObject[]>();
  for (const s of slices) {
    const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svc) continue;
    const key = `${s.metadata.namespace}/${svc}`;
    const list = slicesBySvc.get(key);
    if (list) list.push(s);
    else slicesBySvc.set(key, [s]);
  }
  const out: ServicePort[] = [];
  for (const svc of services) {
    if (!proxied(svc)) continue;
    const spec = svc.spec ?? {};
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const mine = slicesBySvc.get(key) ?? [];
    const external = [
      ...((svc.status?.loadBalancer?.ingress ?? []) as { ip?: string }[]).map((i) => i.ip),
      ...((spec.externalIPs ?? []) as string[]),
    ].filter((ip): ip is string => !!ip && ipv4.test(ip));
    const affinity =
      spec.sessionAffinity === 'ClientIP'
        ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? defaultAffinitySeconds)
        : undefined;
    for (const p of (spec.ports ?? []) as {
      name?: string;
      port: number;
      protocol?: string;
      nodePort?: number;
    }[]) {
      const protocol = p.protocol ?? 'TCP';
      out.push({
        id: `${key}/${p.name || p.port}`,
        protocol: protocol.toLowerCase() as Protocol,
        clusterIP: spec.clusterIP,
        port: p.port,
        ...(p.nodePort && (spec.type === 'NodePort' || spec.type === 'LoadBalancer')
          ? { nodePort: p.nodePort }
          : {}),
        externalIPs: [...new Set(external)],
        externalLocal: spec.externalTrafficPolicy === 'Local',
        internalLocal: spec.internalTrafficPolicy === 'Local',
        ...(affinity !== undefined ? { affinitySeconds: affinity } : {}),
        endpoints: endpointsFor(mine, p.name ?? '', protocol, nodeName),
      });
    }
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
