/**
 * Pods, Namespaces and NetworkPolicies for the NetworkPolicy tests and benchmark: the objects
 * the API server would store, built from a few facts; and a small cluster with policies of
 * every kind, whose tables the unit tests check line by line and the nft test loads.
 */
import type { KubeObject } from '../client/kube-client.js';
import { netpolTables, type SetShape } from './nft-rules.js';
import { readPolicy } from './policy.js';
import { readNamespace, readPod, Selection } from './selection.js';

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

/** Two namespaces and five pods on nodes n1 and n2. */
export const namespaces = [namespace('default', { team: 'a' }), namespace('other', { team: 'b' })];
export const pods = [
  pod('default', 'web-1', { ip: '10.42.0.5', node: 'n1', labels: { app: 'web' }, ports: { http: 8080 } }),
  pod('default', 'web-2', { ip: '10.42.1.5', node: 'n2', labels: { app: 'web' }, ports: { http: 8081 } }),
  pod('default', 'client', { ip: '10.42.0.6', node: 'n1', labels: { role: 'client' } }),
  pod('other', 'db', { ip: '10.42.1.7', node: 'n2', labels: { app: 'db' }, ports: { pg: 5432 } }),
  pod('other', 'cache', { ip: '10.42.0.8', node: 'n1', labels: { app: 'cache' } }),
];

/** The tables for node n1 (or `node`) with these policies. */
export function tablesFor(
  policies: KubeObject[],
  o: { node?: string; bridge?: boolean; podObjects?: KubeObject[]; shape?: SetShape } = {},
) {
  const selection = new Selection(
    (o.podObjects ?? pods).flatMap((p) => readPod(p) ?? []),
    namespaces.map(readNamespace),
  );
  return netpolTables({
    policies: policies.map(readPolicy),
    selection,
    nodeName: o.node ?? 'n1',
    bridgeFallback: o.bridge ?? false,
    ...(o.shape ? { shape: o.shape } : {}),
  });
}

/** Default deny ingress for every pod of `default`. */
export const denyAll = networkPolicy('default', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] });
/** Web pods admit the client on a named port, UDP 53 and a range, and two pods of `other` on every port. */
export const allowWeb = networkPolicy('default', 'allow-web', {
  podSelector: { matchLabels: { app: 'web' } },
  ingress: [
    {
      from: [{ podSelector: { matchLabels: { role: 'client' } } }],
      ports: [{ port: 'http' }, { protocol: 'UDP', port: 53 }, { port: 9000, endPort: 9010 }],
    },
    {
      from: [
        {
          namespaceSelector: { matchLabels: { team: 'b' } },
          podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'cache'] }] },
        },
      ],
    },
  ],
});
/** The client reaches an ipBlock less two holes on 443, and named ports of every pod. */
export const clientEgress = networkPolicy('default', 'client-out', {
  podSelector: { matchLabels: { role: 'client' } },
  policyTypes: ['Egress'],
  egress: [
    {
      to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.42.0.0/16', '10.0.0.0/24'] } }],
      ports: [{ port: 443 }],
    },
    { to: [{ namespaceSelector: {} }], ports: [{ port: 'pg' }, { port: 'http' }] },
  ],
});

/** Web pods admit `cidr` (less 10.1.2.0/24) on TCP `port`-`endPort` and all UDP, for overlaps between policies. */
export const portRangePolicy = (name: string, cidr: string, port: number, endPort: number) =>
  networkPolicy('default', name, {
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [
      {
        from: [{ ipBlock: { cidr, except: ['10.1.2.0/24'] } }],
        ports: [{ port, endPort }, { protocol: 'UDP' }],
      },
    ],
  });
