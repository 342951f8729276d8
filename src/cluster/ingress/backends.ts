/**
 * Backends as the proxy reaches them: a Service port of an Ingress resolved to the ready
 * endpoints of its EndpointSlices (pod addresses and target ports, as Traefik and
 * ingress-nginx use them, not the ClusterIP), handed out round robin. Pools are made on first
 * use and dropped whenever a Service or EndpointSlice changes.
 */
import type { KubeObject } from '../client/kube-client.js';
import type { ObjectIndex } from '../dns/cluster-index.js';
import type { BackendRef } from './routes.js';

export interface Endpoint {
  host: string;
  port: number;
}

/** The ready endpoints of one backend, or why there are none. */
export interface Pool {
  endpoints: readonly Endpoint[];
  /** Set when the Service or its port does not exist (for the event); empty pools without it just have no ready pod. */
  missing?: string;
  /** The next endpoint, round robin. */
  next(): Endpoint | undefined;
}

export class RoundRobin implements Pool {
  private i = 0;
  constructor(
    readonly endpoints: readonly Endpoint[],
    readonly missing?: string,
  ) {}
  next(): Endpoint | undefined {
    if (!this.endpoints.length) return undefined;
    const e = this.endpoints[this.i % this.endpoints.length];
    this.i = (this.i + 1) % this.endpoints.length;
    return e;
  }
}

interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
}

interface SliceEndpoint {
  addresses?: string[];
  conditions?: { ready?: boolean };
}

export function backendKey(b: BackendRef): string {
  return `${b.namespace}/${b.service}:${'name' in b.port ? b.port.name : b.port.number}`;
}

/** The pool of a backend from the Service and its slices (sliceIndex: `namespace/service` -> slices). */
export function resolvePool(
  b: BackendRef,
  service: KubeObject | undefined,
  slices: readonly KubeObject[],
): Pool {
  const svcName = `${b.namespace}/${b.service}`;
  if (!service) return new RoundRobin([], `Service ${svcName} not found`);
  const ports = (service.spec?.ports ?? []) as ServicePort[];
  const sp = ports.find((p) => ('name' in b.port ? p.name === b.port.name : p.port === b.port.number));
  if (!sp) {
    const want = 'name' in b.port ? `named ${b.port.name}` : String(b.port.number);
    return new RoundRobin([], `Service ${svcName} has no port ${want}`);
  }
  if ((sp.protocol ?? 'TCP') !== 'TCP')
    return new RoundRobin([], `Service ${svcName} port ${sp.port} is not TCP`);
  const out: Endpoint[] = [];
  const seen = new Set<string>();
  for (const slice of slices) {
    if ((slice.addressType ?? 'IPv4') !== 'IPv4') continue;
    const port = ((slice.ports ?? []) as { name?: string; port?: number; protocol?: string }[]).find(
      (p) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP') === 'TCP',
    );
    if (port?.port === undefined) continue;
    for (const e of (slice.endpoints ?? []) as SliceEndpoint[]) {
      // A missing `ready` means ready (the API's rule for consumers).
      const host = e.addresses?.[0];
      if (!host || e.conditions?.ready === false) continue;
      const k = `${host}:${port.port}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ host, port: port.port });
    }
  }
  return new RoundRobin(out);
}

/** Pools by backend, kept until the caches change. */
export class Backends {
  private pools = new Map<string, Pool>();

  constructor(
    private readonly services: ObjectIndex,
    private readonly slices: ObjectIndex,
  ) {}

  /** Forgets every pool (a Service or slice changed). */
  invalidate(): void {
    this.pools = new Map();
  }

  pool(b: BackendRef): Pool {
    const k = backendKey(b);
    let p = this.pools.get(k);
    if (!p) {
      const svc = `${b.namespace}/${b.service}`;
      p = resolvePool(b, this.services.get(svc), this.slices.byIndex('service', svc));
      this.pools.set(k, p);
    }
    return p;
  }
}
