/**
 * ServiceLB (k3s's built-in load balancer): every LoadBalancer Service gets the nodes'
 * InternalIPs as its `status.loadBalancer.ingress`, and every node's Service proxy answers
 * on those addresses at the Service's ports. Nodes that are being deleted or are not Ready
 * are left out, so a client is not handed a dead address; with none Ready, all are given
 * (an address that may come back beats none). A Service that stops being a LoadBalancer
 * loses its ingress.
 */
import { isIPv4, parseIPv4 } from '../../engine/network/cidr.js';
import { keyOf } from '../client/informer.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import type { ControllerSpec } from './context.js';

/** The ingress list for LoadBalancer Services, from the nodes: InternalIPs in address order. */
const ipOf = (n: KubeObject) =>
  ((n.status?.addresses ?? []) as { type: string; address: string }[]).find((a) => a.type === 'InternalIP')
    ?.address;
const ready = (n: KubeObject) =>
  ((n.status?.conditions ?? []) as { type: string; status: string }[]).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );
/** What of a node the ingress depends on. */
const facts = (n: KubeObject) => `${ipOf(n)} ${ready(n)} ${!!n.metadata.deletionTimestamp}`;

export function ingressFor(nodes: readonly KubeObject[]): { ip: string }[] {
  // An address that is not IPv4 (the agent checks --node-ip, but a Node can be written by anyone) is left out.
  const live = nodes.filter((n) => !n.metadata.deletionTimestamp && isIPv4(ipOf(n)));
  const chosen = live.some(ready) ? live.filter(ready) : live;
  const ips = [...new Set(chosen.map(ipOf) as string[])];
  return ips.sort((a, b) => parseIPv4(a) - parseIPv4(b)).map((ip) => ({ ip }));
}

export const serviceLbController: ControllerSpec = {
  name: 'servicelb',
  start(ctx) {
    const services = ctx.informer(Resources.services);
    const nodes = ctx.informer(Resources.nodes);
    const q = ctx.queue(async (key) => {
      const svc = services.get(key);
      if (!svc) return;
      const want = svc.spec?.type === 'LoadBalancer' ? ingressFor(nodes.list()) : [];
      const have = (svc.status?.loadBalancer?.ingress ?? []) as unknown[];
      if (JSON.stringify(have) === JSON.stringify(want)) return;
      await ctx.client.patchStatus(Resources.services, svc.metadata.namespace, svc.metadata.name!, {
        status: { loadBalancer: { ingress: want.length ? want : null } },
      });
    }, 2);
    const one = (s: KubeObject) => {
      if (s.spec?.type === 'LoadBalancer' || s.status?.loadBalancer?.ingress) q.add(keyOf(s));
    };
    services.onAdd(one).onUpdate(one);
    // A node's address or readiness changes every LoadBalancer's ingress.
    const all = (n: KubeObject, old?: KubeObject) => {
      if (old && facts(old) === facts(n)) return;
      for (const s of services.list()) one(s);
    };
    nodes
      .onAdd(all)
      .onUpdate(all)
      .onDelete((n) => all(n));
  },
};
