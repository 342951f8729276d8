/**
 * Pods, Namespaces and NetworkPolicies for the NetworkPolicy tests and benchmark: the objects
 * the API server would store, built from a few facts.
 */
import type { KubeObject } from '../client/kube-client.js';

export function pod(
  namespace: string,
  name: string,
  o: { ip: string; node: string; labels?: Record<string, string>; ports?: Record<string, number> },
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace, name, labels: o.labels ?? {} },
    spec: {
      nodeName: o.node,
      containers: [
        {
          name: 'main',
          image: 'busybox',
          ports: Object.entries(o.ports ?? {}).map(([n, p]) => ({
            name: n,
            containerPort: p,
            protocol: 'TCP',
          })),
        },
      ],
    },
    status: { phase: 'Running', podIP: o.ip },
  };
}

export function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export function networkPolicy(namespace: string, name: string, spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { namespace, name },
    spec,
  };
}
