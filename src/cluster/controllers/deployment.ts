import { createHash } from 'node:crypto';
import { transitionTime } from '../api/condition-time.js';
import { controllerRefOf } from '../client/controller-ref.js';
import { keyOf } from '../client/informer.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import { MutationCache } from '../client/mutation-cache.js';
import { type ControllerSpec, inNamespace, ownerKey } from './context.js';
import { controllerUid } from './pods.js';

export interface DeploymentActions {
  createReplicaSet(namespace: string, rs: KubeObject): Promise<unknown>;
  updateReplicaSet(rs: KubeObject): Promise<unknown>;
  deleteReplicaSet(namespace: string, name: string): Promise<unknown>;
  updateStatus(d: KubeObject): Promise<unknown>;
  /** Writes the Deployment itself (its revision annotation, which `rollout undo` patches). */
  updateDeployment(d: KubeObject): Promise<unknown>;
  /** Sync this key again later (to notice a progress deadline passing). */
  requeueAfter?(key: string, ms: number): void;
  /** Records an event about the Deployment. */
  event?(d: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface DeploymentCaches {
  getDeployment(key: string): KubeObject | undefined;
  replicaSetsIn(namespace: string): KubeObject[];
}

const REVISION = 'deployment.kubernetes.io/revision';
const DESIRED = 'deployment.kubernetes.io/desired-replicas';
const MAX = 'deployment.kubernetes.io/max-replicas';

/**
 * Hashes worked out before, by the template's plain JSON: a Deployment syncs again at each
 * status change of its ReplicaSets (about one per pod while they start), and each sync hashed
 * its template anew (key-sorted JSON and SHA-256, many times the cost of the lookup). The
 * hash is a function of the template alone, so any text that stands for it is a sound key.
 */
const hashes = new Map<string, string>();
const MAX_HASHES = 1000;

/** The `pod-template-hash` of a pod template: stable for the same template, as upstream's label is. */
export function templateHash(template: unknown): string {
  const key = JSON.stringify(template) ?? '';
  let hash = hashes.get(key);
  if (hash === undefined) {
    hash = hashOf(template);
    if (hashes.size >= MAX_HASHES) hashes.clear();
    hashes.set(key, hash);
  }
  return hash;
}

function hashOf(template: unknown): string {
  const h = createHash('sha256')
    .update(stableJson(normalizeTemplate(template)))
    .digest();
  // Upstream's hash is rendered with "safe" characters (no vowels); do the same from the digest.
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  for (let i = 0; i < 10; i++) out += alphabet[h[i]! % alphabet.length];
  return out;
}

/**
 * A template as compared across objects: without the pod-template-hash label and without
 * null fields (a template copied back by `rollout undo` gains `creationTimestamp: null`), so
 * the same template always has the same hash and finds its old ReplicaSet.
 */
function normalizeTemplate(v: unknown): unknown {
  const strip = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(strip);
    if (x && typeof x === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(x)) if (val !== null && val !== undefined) out[k] = strip(val);
      return out;
    }
    return x;
  };
  const t = strip(v) as { metadata?: { labels?: Record<string, string> } };
  if (t?.metadata?.labels) {
    const { 'pod-template-hash': _h, ...rest } = t.metadata.labels;
    t.metadata.labels = rest;
  }
  return t;
}

/** Whether a ReplicaSet runs this template (upstream's EqualIgnoreHash). */
function sameTemplate(rs: KubeObject, template: unknown): boolean {
  return stableJson(normalizeTemplate(rs.spec?.template)) === stableJson(normalizeTemplate(template));
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** maxSurge / maxUnavailable: an integer, or a percentage of `replicas` (surge rounds up, unavailable down). */
export function resolveIntOrPercent(v: unknown, replicas: number, roundUp: boolean, dflt: string): number {
  const s = v === undefined || v === null ? dflt : v;
  if (typeof s === 'number') return s;
  const m = /^(\d+)%$/.exec(String(s));
  if (!m) return Number(s) || 0;
  const x = (Number(m[1]) * replicas) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** Upstream's wording: `Scaled up replica set web-5d8f from 0 to 3`. */
function scaleMessage(rs: KubeObject, to: number): string {
  const from = replicasOf(rs);
  return `Scaled ${to > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${to}`;
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  /** A condition re-stated without progress keeps its lastUpdateTime (the deadline counts from it). */
  keepUpdateTime?: boolean;
}

/** Annotations the controller owns, or kubectl's own record: never copied onto a ReplicaSet. */
const NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

/**
 * The Deployment's annotations that its new ReplicaSet carries, as upstream's
 * setNewReplicaSetAnnotations copies them: `kubernetes.io/change-cause` among them, which is
 * what `kubectl rollout history` shows for each revision.
 */
function copiedAnnotations(d: KubeObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (!NOT_COPIED.has(k)) out[k] = v;
  return out;
}

/** Whether the ReplicaSet lacks (or has other values for) any of the copied annotations. */
const annotationsStale = (rs: KubeObject, copied: Record<string, string>) =>
  Object.entries(copied).some(([k, v]) => rs.metadata.annotations?.[k] !== v);

const revisionOf = (rs: KubeObject) => Number(rs.metadata.annotations?.[REVISION] ?? 0);
const replicasOf = (rs: KubeObject) => rs.spec?.replicas ?? 0;
const availableOf = (rs: KubeObject) => rs.status?.availableReplicas ?? 0;

/**
 * One level-triggered pass for a Deployment: find or create the ReplicaSet of the current
 * template (named NAME-HASH, labelled pod-template-hash), move replicas from the old
 * ReplicaSets to it within maxSurge and maxUnavailable (RollingUpdate) or after the old are
 * gone (Recreate), keep revisionHistoryLimit old ReplicaSets, and write the status that
 * `kubectl rollout status` reads. A rollback (`rollout undo`) is a template change back to
 * an old hash: that ReplicaSet becomes the new one and takes the next revision.
 */
export async function syncDeployment(
  key: string,
  caches: DeploymentCaches,
  act: DeploymentActions,
): Promise<void> {
  const d = caches.getDeployment(key);
  if (!d || d.metadata.deletionTimestamp) return;
  const ns = d.metadata.namespace!;
  const desired = d.spec?.replicas ?? 1;
  const all = caches.replicaSetsIn(ns).filter((rs) => controllerUid(rs) === d.metadata.uid);
  const template = d.spec?.template ?? {};
  const hash = templateHash(template);
  const maxRevision = Math.max(0, ...all.map(revisionOf));
  let newRS =
    all.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash) ??
    all.find((rs) => sameTemplate(rs, template));
  const old = all.filter((rs) => rs !== newRS);
  const strategy = d.spec?.strategy?.type ?? 'RollingUpdate';
  const surge =
    strategy === 'Recreate'
      ? 0
      : resolveIntOrPercent(d.spec?.strategy?.rollingUpdate?.maxSurge, desired, true, '25%');
  let unavailable =
    strategy === 'Recreate'
      ? desired
      : resolveIntOrPercent(d.spec?.strategy?.rollingUpdate?.maxUnavailable, desired, false, '25%');
  if (surge === 0 && unavailable === 0) unavailable = 1;
  const paused = d.spec?.paused === true;

  if (!newRS && !paused) {
    const labels = { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash };
    newRS = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: ns,
        labels,
        annotations: {
          ...copiedAnnotations(d),
          [REVISION]: String(maxRevision + 1),
          [DESIRED]: String(desired),
          [MAX]: String(desired + surge),
        },
        ownerReferences: [controllerRefOf(d, 'apps/v1', 'Deployment')],
      },
      spec: {
        replicas: 0,
        minReadySeconds: d.spec?.minReadySeconds ?? 0,
        selector: {
          matchLabels: { ...(d.spec?.selector?.matchLabels ?? {}), 'pod-template-hash': hash },
          ...(d.spec?.selector?.matchExpressions
            ? { matchExpressions: d.spec.selector.matchExpressions }
            : {}),
        },
        template: { ...template, metadata: { ...(template.metadata ?? {}), labels } },
      },
    };
    await act.createReplicaSet(ns, newRS);
    return; // the informer brings it back; the next pass scales it
  }
  if (newRS && revisionOf(newRS) < maxRevision && old.some((rs) => revisionOf(rs) === maxRevision)) {
    // A rollback to this template: it becomes the newest revision again.
    await act.updateReplicaSet({
      ...newRS,
      metadata: {
        ...newRS.metadata,
        annotations: { ...newRS.metadata.annotations, [REVISION]: String(maxRevision + 1) },
      },
    });
    return;
  }
  if (newRS && d.metadata.annotations?.[REVISION] !== String(revisionOf(newRS))) {
    await act.updateDeployment({
      ...d,
      metadata: {
        ...d.metadata,
        annotations: { ...(d.metadata.annotations ?? {}), [REVISION]: String(revisionOf(newRS)) },
      },
    });
    return; // the update comes back through the informer and syncs again
  }
  let scaled = false;
  if (newRS && !paused) {
    const total = all.reduce((n, rs) => n + replicasOf(rs), 0);
    const oldReplicas = old.reduce((n, rs) => n + replicasOf(rs), 0);
    let target = replicasOf(newRS);
    if (strategy === 'Recreate') {
      const oldPods = old.reduce((n, rs) => n + (rs.status?.replicas ?? 0), 0);
      target = oldReplicas === 0 && oldPods === 0 ? desired : 0;
    } else if (target < desired) {
      target = Math.min(desired, target + Math.max(0, desired + surge - total));
    } else if (target > desired) {
      target = desired;
    }
    const copied = copiedAnnotations(d);
    if (target !== replicasOf(newRS) || annotationsStale(newRS, copied)) {
      scaled = target !== replicasOf(newRS);
      // The event follows a write that took, as upstream's scaleReplicaSet: a pass that read
      // a stale ReplicaSet fails its update with a conflict and must not report the scale again.
      const message = scaleMessage(newRS, target);
      await act.updateReplicaSet({
        ...newRS,
        metadata: {
          ...newRS.metadata,
          annotations: {
            ...newRS.metadata.annotations,
            ...copied,
            [DESIRED]: String(desired),
            [MAX]: String(desired + surge),
          },
        },
        spec: { ...newRS.spec, replicas: target },
      });
      if (scaled) act.event?.(d, 'Normal', 'ScalingReplicaSet', message);
    }
    // Scale old ReplicaSets down (upstream's reconcileOldReplicaSets). The budget counts
    // replicas by spec, not by the old sets' status, which lags a scale-down: available =
    // what all sets are asked to run, less the new set's pods not yet available, must stay at
    // desired - maxUnavailable. Unhealthy old replicas go first, then the oldest sets' pods.
    const totalSpec = all.reduce((n, rs) => n + replicasOf(rs), 0);
    const newUnavailable = Math.max(0, replicasOf(newRS) - availableOf(newRS));
    let budget =
      strategy === 'Recreate'
        ? oldReplicas
        : Math.max(0, totalSpec - (desired - unavailable) - newUnavailable);
    const sortedOld = [...old].sort((a, b) => revisionOf(a) - revisionOf(b));
    const cuts = new Map<KubeObject, number>();
    for (const pass of ['unhealthy', 'healthy'] as const) {
      for (const rs of sortedOld) {
        const n = replicasOf(rs) - (cuts.get(rs) ?? 0);
        if (n <= 0 || budget <= 0) continue;
        const want = pass === 'unhealthy' ? Math.max(0, n - availableOf(rs)) : n;
        const cut = Math.min(want, budget);
        if (cut <= 0) continue;
        cuts.set(rs, (cuts.get(rs) ?? 0) + cut);
        budget -= cut;
      }
    }
    for (const [rs, cut] of cuts) {
      const n = replicasOf(rs);
      scaled = true;
      const message = scaleMessage(rs, n - cut);
      await act.updateReplicaSet({ ...rs, spec: { ...rs.spec, replicas: n - cut } });
      act.event?.(d, 'Normal', 'ScalingReplicaSet', message);
    }
    // History: keep revisionHistoryLimit old, scaled-down ReplicaSets.
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const idle = old
      .filter((rs) => replicasOf(rs) === 0 && (rs.status?.replicas ?? 0) === 0)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit)))
      await act.deleteReplicaSet(ns, rs.metadata.name!);
  }

  const replicas = all.reduce((n, rs) => n + (rs.status?.replicas ?? 0), 0);
  const updated = newRS?.status?.replicas ?? 0;
  const ready = all.reduce((n, rs) => n + (rs.status?.readyReplicas ?? 0), 0);
  const avail = all.reduce((n, rs) => n + availableOf(rs), 0);
  const now = new Date().toISOString();
  const complete =
    updated === desired &&
    replicas === desired &&
    avail >= desired &&
    replicasOf(newRS ?? { metadata: {} }) === desired;
  const cur = d.status ?? {};
  const prevProgress = (cur.conditions ?? []).find((x: { type: string }) => x.type === 'Progressing');
  const deadline = d.spec?.progressDeadlineSeconds ?? 600;
  // Progress (upstream's rule): a ReplicaSet created or scaled, or more pods updated or
  // available than last written. Without progress for progressDeadlineSeconds, the rollout
  // has failed: Progressing=False/ProgressDeadlineExceeded, which `kubectl rollout status` reports.
  const progressed =
    scaled ||
    !prevProgress ||
    updated > (cur.updatedReplicas ?? 0) ||
    avail > (cur.availableReplicas ?? 0) ||
    prevProgress.reason === 'DeploymentPaused' ||
    prevProgress.reason === 'NewReplicaSetAvailable';
  const progressing = (): Condition => {
    const rsName = newRS?.metadata.name ?? '';
    if (paused)
      return {
        type: 'Progressing',
        status: 'Unknown',
        reason: 'DeploymentPaused',
        message: 'Deployment is paused',
      };
    if (complete)
      return {
        type: 'Progressing',
        status: 'True',
        reason: 'NewReplicaSetAvailable',
        message: `ReplicaSet "${rsName}" has successfully progressed.`,
      };
    const since = Date.parse(prevProgress?.lastUpdateTime ?? '') || Date.now();
    if (
      !progressed &&
      (prevProgress?.reason === 'ProgressDeadlineExceeded' || Date.now() - since > deadline * 1000)
    )
      return {
        type: 'Progressing',
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
        message: `ReplicaSet "${rsName}" has timed out progressing.`,
      };
    if (!progressed) act.requeueAfter?.(key, Math.max(10, since + deadline * 1000 - Date.now() + 10));
    else act.requeueAfter?.(key, deadline * 1000 + 10);
    return {
      type: 'Progressing',
      status: 'True',
      reason: 'ReplicaSetUpdated',
      message: `ReplicaSet "${rsName}" is progressing.`,
      keepUpdateTime: !progressed,
    };
  };
  const conditions: Condition[] = [
    {
      type: 'Available',
      status: avail >= desired - unavailable ? 'True' : 'False',
      reason: avail >= desired - unavailable ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
      message:
        avail >= desired - unavailable
          ? 'Deployment has minimum availability.'
          : 'Deployment does not have minimum availability.',
    },
    progressing(),
  ];
  const status = {
    observedGeneration: d.metadata.generation ?? 1,
    replicas,
    updatedReplicas: updated,
    readyReplicas: ready,
    availableReplicas: avail,
    unavailableReplicas: Math.max(0, desired - avail),
  };
  const changedConds = conditions.some((c) => {
    const have = (cur.conditions ?? []).find((x: { type: string }) => x.type === c.type);
    return !have || have.status !== c.status || have.reason !== c.reason;
  });
  if (changedConds || Object.entries(status).some(([k, v]) => (cur[k] ?? 0) !== v)) {
    const merged = conditions.map(({ keepUpdateTime, ...c }) => {
      const have = (cur.conditions ?? []).find(
        (x: { type: string; status: string; lastUpdateTime?: string }) => x.type === c.type,
      );
      return {
        ...c,
        lastUpdateTime: keepUpdateTime && have?.lastUpdateTime ? have.lastUpdateTime : now,
        lastTransitionTime: transitionTime(have, c.status, now),
      };
    });
    await act.updateStatus({ ...d, status: { ...cur, ...status, conditions: merged } });
  }
}

/** The Deployment controller: queues a Deployment when it or one of its ReplicaSets changes. */
export const deploymentController: ControllerSpec = {
  name: 'deployment',
  start(ctx) {
    const replicasets = ctx.informer(Resources.replicasets);
    const deployments = ctx.informer(Resources.deployments);
    // Status writes of its own that the informer has not shown yet (see MutationCache).
    const written = new MutationCache(deployments);
    const q = ctx.queue(
      (key) =>
        syncDeployment(
          key,
          { getDeployment: (k) => written.get(k), replicaSetsIn: (ns) => inNamespace(replicasets, ns) },
          {
            createReplicaSet: (ns, rs) => ctx.client.create(Resources.replicasets, ns, rs),
            updateReplicaSet: (rs) => ctx.client.update(Resources.replicasets, rs),
            deleteReplicaSet: (ns, name) => ctx.client.delete(Resources.replicasets, ns, name),
            updateStatus: async (d) =>
              written.mutated(await ctx.client.updateStatus(Resources.deployments, d)),
            updateDeployment: async (d) => written.mutated(await ctx.client.update(Resources.deployments, d)),
            requeueAfter: (k, ms) => q.checkAfter(k, ms),
            event: (o, type, reason, message) =>
              ctx
                .recorder('deployment-controller')
                .record({ ...o, apiVersion: 'apps/v1', kind: 'Deployment' }, type, reason, message),
          },
        ),
      4,
    );
    deployments.onAdd((d) => q.add(keyOf(d))).onUpdate((d) => q.add(keyOf(d)));
    const onRs = (rs: KubeObject) => {
      const k = ownerKey(rs, 'Deployment');
      if (k) q.add(k);
    };
    replicasets.onAdd(onRs).onUpdate(onRs).onDelete(onRs);
  },
};
