/**
 * Service address allocation, as the upstream API server does it on create: a ClusterIP from
 * the service CIDR (10.43.0.0/16 like k3s; 10.43.0.1 is the `kubernetes` Service) and node
 * ports from 30000-32767 for NodePort and LoadBalancer Services. Allocations are serialised
 * in-process and checked against the stored Services, so two creates never share an address.
 */
import { decode } from '../api/objects.js';
import type { KubeObject } from '../api/selectors.js';
import { invalidError } from '../api/status.js';
import type { StoreReader } from '../store/store.js';

const servicePrefix = '/registry/core/services/';
export const serviceCidrBase = [10, 43];
export const kubernetesServiceIP = '10.43.0.1';

type Obj = Record<string, unknown>;

export class ServiceAllocator {
  private chain: Promise<unknown> = Promise.resolve();
  private next = 2;

  constructor(private store: StoreReader) {}

  /** Fills spec.clusterIP(s) and node ports of a Service about to be created. */
  allocate(svc: KubeObject): Promise<void> {
    const run = this.chain.then(() => this.allocateNow(svc));
    this.chain = run.catch(() => {});
    return run;
  }

  private async allocateNow(svc: KubeObject): Promise<void> {
    const spec = (svc.spec ?? {}) as Obj;
    if (spec.type === 'ExternalName') return;
    const used = new Set<string>();
    const usedPorts = new Set<number>();
    for (const kv of (await this.store.list(servicePrefix)).items) {
      const s = decode(kv).spec as Obj | undefined;
      if (typeof s?.clusterIP === 'string') used.add(s.clusterIP);
      for (const p of (s?.ports as Obj[] | undefined) ?? [])
        if (typeof p.nodePort === 'number') usedPorts.add(p.nodePort);
    }
    const name = svc.metadata?.name ?? '';
    if (spec.clusterIP === undefined || spec.clusterIP === '') {
      let ip: string | undefined;
      for (let i = 0; i < 65_533 && !ip; i++) {
        const n = this.next;
        this.next = n >= 65_534 ? 2 : n + 1;
        const candidate = `${serviceCidrBase[0]}.${serviceCidrBase[1]}.${n >> 8}.${n & 255}`;
        if (!used.has(candidate)) ip = candidate;
      }
      if (!ip)
        throw invalidError('', 'Service', name, [
          { field: 'spec.clusterIPs', message: 'Internal error: range is full' },
        ]);
      spec.clusterIP = ip;
    } else if (spec.clusterIP !== 'None' && used.has(spec.clusterIP as string)) {
      throw invalidError('', 'Service', name, [
        {
          field: 'spec.clusterIPs',
          reason: 'FieldValueInvalid',
          message: `Invalid value: []string{"${spec.clusterIP}"}: failed to allocate IP ${spec.clusterIP}: provided IP is already allocated`,
        },
      ]);
    }
    spec.clusterIPs = [spec.clusterIP];
    if (spec.clusterIP !== 'None') {
      spec.ipFamilies ??= ['IPv4'];
      spec.ipFamilyPolicy ??= 'SingleStack';
    }
    spec.internalTrafficPolicy ??= 'Cluster';
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
      spec.externalTrafficPolicy ??= 'Cluster';
      let port = 30000 + Math.floor(Math.random() * 2768);
      for (const p of (spec.ports as Obj[] | undefined) ?? []) {
        if (typeof p.nodePort === 'number') continue;
        while (usedPorts.has(port)) port = port >= 32767 ? 30000 : port + 1;
        p.nodePort = port;
        usedPorts.add(port);
      }
    }
    svc.spec = spec;
  }
}
