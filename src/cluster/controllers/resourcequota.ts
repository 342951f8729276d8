/**
 * The resource-quota controller (kube-controller-manager's): sets each ResourceQuota's
 * status.hard from its spec and recomputes status.used from the objects really in its
 * namespace, so what quota admission charged for a write that then failed, and what deleted
 * or finished objects held (pods in a terminal phase count for nothing), is given back.
 * Pods changing re-measure their namespace's quotas at once; other kinds on a periodic pass.
 */
import {
  addUsage,
  formatUsage,
  isTerminalPod,
  resourcesFor,
  type Usage,
  usageOf,
} from '../api/quota-usage.js';
import { keyOf } from '../client/informer.js';
import type { KubeClient, KubeObject, Resource } from '../client/kube-client.js';
import { Resources } from '../client/kube-client.js';
import { type ControllerSpec, inNamespace } from './context.js';

/** How often every quota is measured again, for kinds without a watch here (upstream: 5 minutes). */
const resyncMs = 15_000;

export interface ResourceQuotaActions {
  /** Every object of `group`/`plural` in `namespace`. */
  list(group: string, plural: string, namespace: string): Promise<KubeObject[]>;
  /** Writes the quota's status (a conflict if it changed since it was read: sync again). */
  updateStatus(quota: KubeObject): Promise<unknown>;
}

/** One pass for one quota (`namespace/name`): measure, and write status if it differs. */
export async function syncResourceQuota(
  quota: KubeObject | undefined,
  act: ResourceQuotaActions,
): Promise<void> {
  if (!quota || quota.metadata.deletionTimestamp) return;
  const ns = quota.metadata.namespace as string;
  const hard = (quota.spec?.hard ?? {}) as Record<string, string>;
  const used: Usage = {};
  for (const { group, plural } of resourcesFor(hard))
    for (const o of await act.list(group, plural, ns)) addUsage(used, usageOf(group, plural, o));
  const status = { hard: { ...hard }, used: formatUsage(used, hard) };
  if (JSON.stringify(status) === JSON.stringify({ hard: quota.status?.hard, used: quota.status?.used }))
    return;
  await act.updateStatus({ ...quota, status: { ...(quota.status ?? {}), ...status } });
}

/**
 * The Resource for a group and plural: the core group is /api/v1; another group's version is
 * its preferred one from discovery, asked once.
 */
function resourceFinder(client: KubeClient) {
  const versions = new Map<string, Promise<string>>();
  return async (group: string, plural: string): Promise<Resource> => {
    if (!group) return { base: '/api/v1', plural, namespaced: true };
    let v = versions.get(group);
    if (!v) {
      v = client
        .request<{ preferredVersion?: { groupVersion?: string } }>('GET', `/apis/${group}`)
        .then((g) => g.preferredVersion?.groupVersion ?? `${group}/v1`);
      versions.set(group, v);
      v.catch(() => versions.delete(group));
    }
    return { base: `/apis/${await v}`, plural, namespaced: true };
  };
}

export const resourceQuotaController: ControllerSpec = {
  name: 'resourcequota',
  start(ctx) {
    const quotas = ctx.informer(Resources.resourcequotas);
    const pods = ctx.informer(Resources.pods);
    const find = resourceFinder(ctx.client);
    const q = ctx.queue(
      (key) =>
        syncResourceQuota(quotas.get(key), {
          list: async (group, plural, ns) => (await ctx.client.list(await find(group, plural), ns)).items,
          updateStatus: (o) => ctx.client.updateStatus(Resources.resourcequotas, o),
        }),
      2,
    );
    const all = () => {
      for (const o of quotas.list()) q.add(keyOf(o));
    };
    quotas.onAdd((o) => q.add(keyOf(o))).onUpdate((o) => q.add(keyOf(o)));
    const onPod = (p: KubeObject) => {
      for (const o of inNamespace(quotas, p.metadata.namespace as string)) q.add(keyOf(o));
    };
    // A pod's cost changes only when it comes, finishes or goes.
    pods
      .onAdd(onPod)
      .onUpdate((p) => {
        if (isTerminalPod(p)) onPod(p);
      })
      .onDelete(onPod);
    const timer = setInterval(all, resyncMs);
    timer.unref();
    ctx.onStop(() => clearInterval(timer));
  },
};
