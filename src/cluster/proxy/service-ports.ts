/**
 * What a node's proxy must do, worked out from Services and EndpointSlices alone (no
 * firewall syntax here): one ServicePort per port of every Service that gets rules, with the
 * addresses it answers on and the ready endpoints its traffic may go to. Pure, so the rule
 * text built from it can be tested without a kernel.
 */
import { isIPv4, parseIPv4 } from '../../engine/network/cidr.js';
import type { KubeObject } from '../client/kube-client.js';
import { SERVICE_NAME } from '../controllers/endpointslice.js';

/**
 * Services with this annotation are served by something on every node itself (the cluster
 * DNS listener at --cluster-dns), so the proxy leaves their ClusterIP alone.
 */
export const NODE_LOCAL_ANNOTATION = 'berth.dev/node-local';

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

const defaultAffinitySeconds = 10_800;

/** Whether the proxy programs rules for this Service at all. */
export function proxied(svc: KubeObject): boolean {
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName') return false; // DNS answers with a CNAME; nothing to route
  if (svc.metadata.annotations?.[NODE_LOCAL_ANNOTATION] === 'true') return false;
  const ip = spec.clusterIP as string | undefined;
  return isIPv4(ip); // headless ("None") has no virtual IP
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
    if (!isPort(sp?.port)) continue;
    for (const e of (slice.endpoints ?? []) as SliceEndpoint[]) {
      // A nil ready condition means ready (discovery/v1); terminating endpoints are not ready
      // and only keep the connections they already have (their conntrack entries).
      if (e.conditions?.ready === false) continue;
      const ip = e.addresses?.[0];
      if (!isIPv4(ip)) continue;
      seen.set(`${ip}:${sp!.port}`, { ip, port: sp!.port!, local: e.nodeName === nodeName });
    }
  }
  return [...seen.values()].sort((a, b) => ipOrder(a.ip, b.ip) || a.port - b.port);
}

const ipOrder = (a: string, b: string) => parseIPv4(a) - parseIPv4(b);

// Names, ports and numbers go into nft's text: anything that is not what the API server's
// validation lets through (a stray space or newline would be a command of its own) is skipped.
const isPort = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0 && (n as number) < 65536;
const isName = (s: unknown): s is string =>
  typeof s === 'string' && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(s);
const protocols: Readonly<Record<string, Protocol>> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

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
    const svc = s.metadata.labels?.[SERVICE_NAME];
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
    if (!isName(svc.metadata.namespace) || !isName(svc.metadata.name)) continue;
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const mine = slicesBySvc.get(key) ?? [];
    const external = [
      ...((svc.status?.loadBalancer?.ingress ?? []) as { ip?: string }[]).map((i) => i.ip),
      ...((spec.externalIPs ?? []) as string[]),
    ].filter(isIPv4);
    const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? defaultAffinitySeconds;
    const affinity =
      spec.sessionAffinity === 'ClientIP' && Number.isInteger(timeout) && timeout > 0
        ? (timeout as number)
        : undefined;
    for (const p of (spec.ports ?? []) as {
      name?: string;
      port: number;
      protocol?: string;
      nodePort?: number;
    }[]) {
      const protocol = p.protocol ?? 'TCP';
      if (!protocols[protocol] || !isPort(p.port) || (p.name && !isName(p.name))) continue;
      out.push({
        id: `${key}/${p.name || p.port}`,
        protocol: protocols[protocol],
        clusterIP: spec.clusterIP,
        port: p.port,
        ...(isPort(p.nodePort) && (spec.type === 'NodePort' || spec.type === 'LoadBalancer')
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
