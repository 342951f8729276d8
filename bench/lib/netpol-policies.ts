/**
 * bench/netpol's policies: `count` NetworkPolicies of `default` all selecting the pods labelled
 * app=web; all but the last admit other sources (an ipBlock and a port each, below 8080), the
 * last admits the pods labelled role=client on port 8080: last by name, and last by port where
 * the rules are a line per port, so the client's connections are checked against every line.
 */
import type { KubeObject } from '../../src/cluster/client/kube-client.js';

/** Policy `i` of `count`. */
export function benchPolicy(i: number, count: number): KubeObject {
  const last = i === count - 1;
  const from = last
    ? [{ podSelector: { matchLabels: { role: 'client' } } }]
    : [{ ipBlock: { cidr: `10.${100 + (i % 100)}.${Math.floor(i / 100)}.0/24` } }];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { namespace: 'default', name: `p-${String(i).padStart(3, '0')}` },
    spec: {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [{ from, ports: [{ port: last ? 8080 : 1000 + i }] }],
    },
  };
}

/** The ports the policies name: where the rules hold them all, they are programmed. */
export const benchPolicyPorts = (count: number) => [
  8080,
  ...Array.from({ length: count - 1 }, (_, i) => 1000 + i),
];
