/**
 * The `ingress` controller of `berth server`: every Ingress the built-in controller serves
 * gets `status.loadBalancer.ingress` set to the InternalIPs of the nodes whose agent serves
 * Ingresses (annotated `ingress.berth.dev/serving`), chosen as ServiceLB chooses them (Ready
 * nodes, in address order; all of them when none is Ready), and kept current as nodes come,
 * go or change. Ingresses of other classes are left to their controllers.
 */
import { keyOf } from '../client/informer.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import type { ControllerSpec } from '../controllers/context.js';
import { ingressFor } from '../controllers/servicelb.js';
import { ingressClasses, ingresses, SERVING_ANNOTATION, servedByBerth } from './ingress-class.js';

const serving = (n: KubeObject) => n.metadata.annotations?.[SERVING_ANNOTATION] === 'true';

/** The load balancer addresses of served Ingresses, from the nodes. */
export function ingressAddresses(nodes: readonly KubeObject[]): { ip: string }[] {
  return ingressFor(nodes.filter(serving));
}

export const ingressStatusController: ControllerSpec = {
  name: 'ingress',
  start(ctx) {
    const ings = ctx.informer(ingresses);
    const classes = ctx.informer(ingressClasses);
    const nodes = ctx.informer(Resources.nodes);
    const q = ctx.queue(async (key) => {
      const ing = ings.get(key);
      if (!ing || !servedByBerth(ing, classes.list())) return;
      const want = ingressAddresses(nodes.list());
      const have = (ing.status?.loadBalancer?.ingress ?? []) as unknown[];
      if (JSON.stringify(have) === JSON.stringify(want)) return;
      await ctx.client.patchStatus(ingresses, ing.metadata.namespace, ing.metadata.name as string, {
        status: { loadBalancer: { ingress: want.length ? want : null } },
      });
    }, 2);
    const one = (i: KubeObject) => q.add(keyOf(i));
    const all = () => {
      for (const i of ings.list()) one(i);
    };
    ings.onAdd(one).onUpdate(one);
    classes.onAdd(all).onUpdate(all).onDelete(all);
    // What of a node the addresses depend on: its address, readiness, deletion and annotation.
    const facts = (n: KubeObject) =>
      JSON.stringify([
        ingressFor([n]),
        ((n.status?.conditions ?? []) as { type: string; status: string }[]).find((c) => c.type === 'Ready')
          ?.status,
        !!n.metadata.deletionTimestamp,
        serving(n),
      ]);
    nodes
      .onAdd(all)
      .onUpdate((n, old) => {
        if (!old || facts(old) !== facts(n)) all();
      })
      .onDelete(all);
  },
};
