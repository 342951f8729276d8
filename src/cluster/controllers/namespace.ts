/**
 * The namespace controller (kube-controller-manager's namespace lifecycle): a namespace being
 * deleted is Terminating with the `kubernetes` finalizer in `spec.finalizers`; this loop
 * deletes every namespaced object in it (every resource the API lists in discovery, custom
 * ones included, Background propagation), waits for objects held by their own finalizers,
 * saying so in the namespace's conditions, and when nothing is left removes its finalizer
 * through `namespaces/NAME/finalize`, which lets the API server delete the namespace.
 */
import { unlessNotFound } from '../../core/errors.js';
import { metaTime } from '../api/meta-time.js';
import type { KubeClient, KubeObject, Resource } from '../client/kube-client.js';
import { Resources } from '../client/kube-client.js';
import type { ControllerSpec } from './context.js';

export const NAMESPACE_FINALIZER = 'kubernetes';

export interface NamespaceActions {
  /** Every namespaced resource that can be listed and deleted. */
  resources(): Promise<Resource[]>;
  list(r: Resource, ns: string): Promise<KubeObject[]>;
  delete(r: Resource, ns: string, obj: KubeObject): Promise<unknown>;
  setConditions(ns: KubeObject, conditions: object[]): Promise<unknown>;
  finalize(ns: KubeObject, finalizers: string[]): Promise<unknown>;
  requeueAfter(name: string, ms: number): void;
}

const condition = (type: string, status: 'True' | 'False', reason: string, message: string) => ({
  type,
  status,
  lastTransitionTime: metaTime(),
  reason,
  message,
});

/** How many at once: enough to empty a namespace quickly without flooding the API. */
const PARALLEL = 16;

async function inBatches<T>(items: readonly T[], fn: (t: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += PARALLEL) await Promise.all(items.slice(i, i + PARALLEL).map(fn));
}

export async function syncNamespace(ns: KubeObject | undefined, act: NamespaceActions): Promise<void> {
  if (!ns?.metadata.deletionTimestamp) return;
  const finalizers: string[] = ns.spec?.finalizers ?? [];
  if (!finalizers.includes(NAMESPACE_FINALIZER)) return;
  const name = ns.metadata.name!;
  const remaining = new Map<string, number>();
  const held = new Map<string, number>();
  for (const r of await act.resources()) {
    const items = await act.list(r, name);
    await inBatches(
      items.filter((o) => !o.metadata.deletionTimestamp),
      (o) => unlessNotFound(act.delete(r, name, o)),
    );
    // What survives its delete (its own finalizers) keeps the namespace for now.
    for (const o of items) {
      const fins = o.metadata.finalizers ?? [];
      if (!fins.length) continue;
      remaining.set(r.plural, (remaining.get(r.plural) ?? 0) + 1);
      for (const f of fins) held.set(f, (held.get(f) ?? 0) + 1);
    }
  }
  if (remaining.size === 0) {
    await act.finalize(
      ns,
      finalizers.filter((f) => f !== NAMESPACE_FINALIZER),
    );
    return;
  }
  await act.setConditions(ns, [
    condition(
      'NamespaceContentRemaining',
      'True',
      'SomeResourcesRemain',
      `Some resources are remaining: ${[...remaining].map(([p, n]) => `${p} has ${n} resource instances`).join(', ')}`,
    ),
    condition(
      'NamespaceFinalizersRemaining',
      'True',
      'SomeFinalizersRemain',
      `Some content in the namespace has finalizers remaining: ${[...held].map(([f, n]) => `${f} in ${n} resource instances`).join(', ')}`,
    ),
  ]);
  act.requeueAfter(name, 2000);
}

interface ResourceList {
  groupVersion: string;
  resources: { name: string; namespaced: boolean; verbs: string[] }[];
}

/** The namespaced, deletable resources from discovery (preferred versions), cached briefly. */
function discovery(client: KubeClient): () => Promise<Resource[]> {
  let cache: { at: number; list: Resource[] } | undefined;
  return async () => {
    if (cache && Date.now() - cache.at < 10_000) return cache.list;
    const lists: ResourceList[] = [await client.request<ResourceList>('GET', '/api/v1')];
    const groups = await client.request<{
      groups: { preferredVersion: { groupVersion: string } }[];
    }>('GET', '/apis');
    for (const g of groups.groups)
      lists.push(await client.request<ResourceList>('GET', `/apis/${g.preferredVersion.groupVersion}`));
    const list: Resource[] = [];
    for (const l of lists) {
      const base = l.groupVersion === 'v1' ? '/api/v1' : `/apis/${l.groupVersion}`;
      for (const r of l.resources)
        if (r.namespaced && !r.name.includes('/') && r.verbs.includes('list') && r.verbs.includes('delete'))
          list.push({ base, plural: r.name, namespaced: true });
    }
    cache = { at: Date.now(), list };
    return list;
  };
}

export const namespaceController: ControllerSpec = {
  name: 'namespace',
  start(ctx) {
    const namespaces = ctx.informer(Resources.namespaces);
    const client = ctx.client;
    const act: NamespaceActions = {
      resources: discovery(client),
      list: async (r, ns) => (await client.list(r, ns)).items,
      delete: (r, ns, o) =>
        client.delete(r, ns, o.metadata.name!, { uid: o.metadata.uid, propagationPolicy: 'Background' }),
      setConditions: (ns, conditions) =>
        client.patchStatus(Resources.namespaces, undefined, ns.metadata.name!, { status: { conditions } }),
      finalize: (ns, finalizers) =>
        client.request('PUT', `/api/v1/namespaces/${encodeURIComponent(ns.metadata.name!)}/finalize`, {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: ns.metadata.name, resourceVersion: ns.metadata.resourceVersion },
          spec: { finalizers },
        }),
      requeueAfter: (name, ms) => queue.checkAfter(name, ms),
    };
    const queue = ctx.queue((name) => syncNamespace(namespaces.get(name), act), 2);
    const on = (ns: KubeObject) => {
      if (ns.metadata.deletionTimestamp) queue.add(ns.metadata.name!);
    };
    namespaces.onAdd(on).onUpdate(on);
  },
};
