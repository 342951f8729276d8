/**
 * Services and EndpointSlices for the proxy's tests and benchmark: the objects the API server
 * and the EndpointSlice controller would store, built from a few facts.
 */
import type { KubeObject } from '../client/kube-client.js';

export interface FixtureEndpoint {
  ip: string;
  node: string;
  ready?: boolean;
  terminating?: boolean;
}

export function service(
  name: string,
  spec: Record<string, unknown>,
  extra: Partial<KubeObject> = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    ...extra,
    metadata: { namespace: 'default', name, ...extra.metadata },
    spec: { type: 'ClusterIP', ...spec },
  };
}

export function slice(
  svc: string,
  ports: { name?: string; port: number; protocol?: string }[],
  endpoints: FixtureEndpoint[],
  name = `${svc}-abcde`,
): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: 'default', name, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: {
        ready: (e.ready ?? true) && !e.terminating,
        serving: e.ready ?? true,
        terminating: !!e.terminating,
      },
      nodeName: e.node,
    })),
  };
}
