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
  inQuotaScope,
  isTerminalPod,
  parseUsage,
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

/**
 * How long a quota must stay unchanged before its usage may be lowered: quota admission
 * charges a write before the object is stored, so an object charged just before the quota
 * was read may not be in the lists yet; lowering right away would give its charge back twice.
 */
export const settleMs = 2_000;

export interface ResourceQuotaActions {
  /** Every object of `group`/`plural` in `namespace`. */
  list(group: string, plural: string, namespace: string): Promise<KubeObject[]>;
  /** Writes the quota's status (a conflict if it changed since it was read: sync again). */
  updateStatus(quota: KubeObject): Promise<unknown>;
  /** Syncs this quota again after `ms`. */
  requeueAfter(key: string, ms: number): void;
  now(): number;
}

/**
 * The version of each quota the controller first saw, and when: a lowering is written only
 * for a quota seen unchanged for {@link settleMs}, measured after that.
 */
export type QuotaSightings = Map<string, { rv: string; at: number }>;

/**
 * One pass for one quota (`namespace/name`): measure, and write status if it differs. A
 * higher usage is written at once; a lower one once the quota has settled (every write is
 * against the version read, so a charge made meanwhile makes it a conflict and a new pass).
 */
export async function syncResourceQuota(
  key: string,
  quota: KubeObject | undefined,
  act: ResourceQuotaActions,
  seen: QuotaSightings,
): Promise<void> {
  if (!quota || quota.metadata.deletionTimestamp) {
    seen.delete(key);
    return;
  }
  const rv = String(quota.metadata.resourceVersion);
  const sighting = seen.get(key);
  if (sighting?.rv !== rv) seen.set(key, { rv, at: act.now() });
  const settled = sighting?.rv === rv && act.now() - sighting.at >= settleMs;
  const ns = quota.metadata.namespace as string;
  const hard = (quota.spec?.hard ?? {}) as Record<string, string>;
  const measured: Usage = {};
  for (const { group, plural } of resourcesFor(hard))
    for (const o of await act.list(group, plural, ns))
      if (inQuotaScope(quota.spec ?? {}, group, plural, o)) addUsage(measured, usageOf(group, plural, o));
  const current = parseUsage(quota.status?.used);
  const lowers = Object.keys(hard).some((k) => k in current && (measured[k] ?? 0) < (current[k] ?? 0));
  const used: Usage = { ...measured };
  if (lowers && !settled) {
    // Keep what was charged for now, and look again once the quota has settled.
    for (const k of Object.keys(hard)) used[k] = Math.max(measured[k] ?? 0, current[k] ?? 0);
    act.requeueAfter(key, settleMs);
  }
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
    const seen: QuotaSightings = new Map();
    const q = ctx.queue(
      (key) =>
        syncResourceQuota(
          key,
          quotas.get(key),
          {
            list: async (group, plural, ns) => (await ctx.client.list(await find(group, plural), ns)).items,
            updateStatus: (o) => ctx.client.updateStatus(Resources.resourcequotas, o),
            requeueAfter: (k, ms) => q.checkAfter(k, ms),
            now: () => Date.now(),
          },
          seen,
        ),
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
