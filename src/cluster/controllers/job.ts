/**
 * The Job controller (after kube-controller-manager's): runs pods from the template until
 * `completions` succeed (or, in Indexed mode, until each index 0..completions-1 has
 * succeeded), at most `parallelism` at once; fails the Job when failures exceed
 * `backoffLimit`, when it runs longer than `activeDeadlineSeconds`, or when a
 * `podFailurePolicy` rule says FailJob; honours `suspend`; deletes a finished Job after
 * `ttlSecondsAfterFinished`. Conditions are 1.32's: SuccessCriteriaMet then Complete, or
 * FailureTarget then Failed, so `kubectl wait --for=condition=complete` works.
 */
import { unlessNotFound } from '../../core/errors.js';
import { metaTime } from '../api/meta-time.js';
import { controllerRefOf } from '../client/controller-ref.js';
import { Expectations } from '../client/expectations.js';
import { keyOf } from '../client/informer.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import { createPods } from '../client/pod-control.js';
import { type ControllerSpec, ownedBy, ownerKey } from './context.js';
import { controllerUid, isPodReady } from './pods.js';

export const INDEX = 'batch.kubernetes.io/job-completion-index';

export interface JobCaches {
  getJob(key: string): KubeObject | undefined;
  /** The pods the Job controls. */
  podsOf(job: KubeObject): KubeObject[];
}

export interface JobActions {
  createPod(ns: string, pod: KubeObject): Promise<unknown>;
  deletePod(ns: string, name: string): Promise<unknown>;
  updateStatus(job: KubeObject): Promise<unknown>;
  deleteJob(job: KubeObject): Promise<unknown>;
  requeueAfter(key: string, ms: number): void;
  event?(job: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
  now?(): number;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastProbeTime?: string;
  lastTransitionTime?: string;
}

const hasCond = (job: KubeObject, type: string) =>
  (job.status?.conditions ?? []).some((c: Condition) => c.type === type && c.status === 'True');
export const isJobFinished = (job: KubeObject) => hasCond(job, 'Complete') || hasCond(job, 'Failed');
const indexOf = (p: KubeObject): number | undefined => {
  const v = p.metadata.annotations?.[INDEX] ?? p.metadata.labels?.[INDEX];
  return v === undefined ? undefined : Number(v);
};

/** Index sets as upstream writes them: `0-2,5`. */
export function formatIndexes(indexes: Iterable<number>): string {
  const s = [...new Set(indexes)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    out.push(j > i ? `${s[i]}-${s[j]}` : String(s[i]));
    i = j + 1;
  }
  return out.join(',');
}

/** Does this failed pod match a podFailurePolicy rule? Returns the rule's action. */
export function failurePolicyAction(job: KubeObject, pod: KubeObject): string | undefined {
  for (const rule of job.spec?.podFailurePolicy?.rules ?? []) {
    const codes = rule.onExitCodes;
    if (codes) {
      const statuses = (pod.status?.containerStatuses ?? []).filter(
        (c: { name: string }) => !codes.containerName || c.name === codes.containerName,
      );
      const exits = statuses
        .map((c: { state?: { terminated?: { exitCode?: number } } }) => c.state?.terminated?.exitCode)
        .filter((x: number | undefined) => x !== undefined && x !== 0) as number[];
      const values = (codes.values ?? []) as number[];
      const hit =
        codes.operator === 'NotIn'
          ? exits.some((x) => !values.includes(x))
          : exits.some((x) => values.includes(x));
      if (hit) return rule.action;
    }
    for (const pc of rule.onPodConditions ?? []) {
      if (
        (pod.status?.conditions ?? []).some(
          (c: Condition) => c.type === pc.type && c.status === (pc.status ?? 'True'),
        )
      )
        return rule.action;
    }
  }
  return undefined;
}

function podFromJob(job: KubeObject, index?: number): KubeObject {
  const t = structuredClone(job.spec?.template ?? {});
  const labels: Record<string, string> = { ...(t.metadata?.labels ?? {}) };
  const annotations: Record<string, string> = { ...(t.metadata?.annotations ?? {}) };
  const spec = t.spec ?? {};
  let generateName = `${job.metadata.name}-`;
  if (index !== undefined) {
    labels[INDEX] = String(index);
    annotations[INDEX] = String(index);
    generateName = `${job.metadata.name}-${index}-`;
    spec.hostname ??= `${job.metadata.name}-${index}`;
    for (const c of spec.containers ?? [])
      c.env = [
        ...(c.env ?? []),
        {
          name: 'JOB_COMPLETION_INDEX',
          valueFrom: { fieldRef: { fieldPath: `metadata.labels['${INDEX}']` } },
        },
      ];
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName,
      namespace: job.metadata.namespace,
      labels,
      ...(Object.keys(annotations).length ? { annotations } : {}),
      ownerReferences: [controllerRefOf(job, 'batch/v1', 'Job')],
    },
    spec,
  };
}

/** One level-triggered pass for a Job. */
export async function syncJob(
  key: string,
  caches: JobCaches,
  act: JobActions,
  exp: Expectations,
): Promise<void> {
  const job = caches.getJob(key);
  if (!job || job.metadata.deletionTimestamp) return;
  const now = act.now?.() ?? Date.now();
  const ns = job.metadata.namespace!;
  const spec = job.spec ?? {};
  const status = { ...(job.status ?? {}) };
  const conditions: Condition[] = [...(status.conditions ?? [])];
  const setCond = (c: Condition) => {
    const i = conditions.findIndex((x) => x.type === c.type);
    const prev = conditions[i];
    if (prev && prev.status === c.status && prev.reason === c.reason) return;
    const full = { ...c, lastProbeTime: metaTime(now), lastTransitionTime: metaTime(now) };
    if (i >= 0) conditions[i] = full;
    else conditions.push(full);
  };

  // Finished: only the TTL is left to honour.
  if (isJobFinished(job)) {
    const ttl = spec.ttlSecondsAfterFinished;
    if (ttl === undefined || ttl === null) return;
    const finishedAt =
      Date.parse(status.completionTime ?? '') ||
      Date.parse(
        conditions.find((c) => c.type === 'Failed' || c.type === 'Complete')?.lastTransitionTime ?? '',
      ) ||
      now;
    const due = finishedAt + ttl * 1000 - now;
    if (due <= 0) await act.deleteJob(job);
    else act.requeueAfter(key, due + 10);
    return;
  }

  const pods = caches.podsOf(job).filter((p) => controllerUid(p) === job.metadata.uid);
  const active = pods.filter(
    (p) => !['Succeeded', 'Failed'].includes(p.status?.phase) && !p.metadata.deletionTimestamp,
  );
  const succeededPods = pods.filter((p) => p.status?.phase === 'Succeeded');
  const failedPods = pods.filter((p) => p.status?.phase === 'Failed');
  const indexed = spec.completionMode === 'Indexed';
  const completions: number | undefined = spec.completions ?? undefined;
  const parallelism: number = spec.parallelism ?? 1;

  // podFailurePolicy: Ignore does not count a failure; FailJob fails the Job at once.
  let failJob: string | undefined;
  let counted = 0;
  for (const p of failedPods) {
    const action = failurePolicyAction(job, p);
    if (action === 'Ignore') continue;
    if (action === 'FailJob' && !failJob)
      failJob = `Container of pod ${ns}/${p.metadata.name} failed with a code matching the FailJob rule of the podFailurePolicy`;
    counted++;
  }
  const succeededIdx = new Set<number>();
  if (indexed)
    for (const p of succeededPods) {
      const i = indexOf(p);
      if (i !== undefined && completions !== undefined && i < completions) succeededIdx.add(i);
    }
  // Counts never go down: a finished pod someone deleted still counted.
  const succeeded = Math.max(status.succeeded ?? 0, indexed ? succeededIdx.size : succeededPods.length);
  const failed = Math.max(status.failed ?? 0, counted);

  if (spec.suspend) {
    for (const p of active) await unlessNotFound(act.deletePod(ns, p.metadata.name!));
    setCond({ type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended' });
    await write(0, 0);
    return;
  }
  if (conditions.some((c) => c.type === 'Suspended' && c.status === 'True'))
    setCond({ type: 'Suspended', status: 'False', reason: 'JobResumed', message: 'Job resumed' });
  if (!status.startTime) status.startTime = metaTime(now);

  let failure: { reason: string; message: string } | undefined;
  if (failJob) failure = { reason: 'PodFailurePolicy', message: failJob };
  else if (failed > (spec.backoffLimit ?? 6))
    failure = { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
  else if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds !== null) {
    const left = Date.parse(status.startTime) + spec.activeDeadlineSeconds * 1000 - now;
    if (left <= 0)
      failure = { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
    else act.requeueAfter(key, left + 10);
  }
  if (failure) {
    for (const p of active) await unlessNotFound(act.deletePod(ns, p.metadata.name!));
    setCond({ type: 'FailureTarget', status: 'True', ...failure });
    setCond({ type: 'Failed', status: 'True', ...failure });
    act.event?.(job, 'Warning', failure.reason, failure.message);
    await write(0, 0);
    return;
  }

  const complete = indexed
    ? completions !== undefined && succeededIdx.size >= completions
    : completions !== undefined
      ? succeeded >= completions
      : succeeded > 0 && active.length === 0;
  if (complete) {
    for (const p of active) await unlessNotFound(act.deletePod(ns, p.metadata.name!));
    setCond({
      type: 'SuccessCriteriaMet',
      status: 'True',
      reason: 'CompletionsReached',
      message: 'Reached expected number of succeeded pods',
    });
    setCond({
      type: 'Complete',
      status: 'True',
      reason: 'CompletionsReached',
      message: 'Reached expected number of succeeded pods',
    });
    status.completionTime = metaTime(now);
    act.event?.(job, 'Normal', 'Completed', 'Job completed');
    await write(0, 0);
    if (spec.ttlSecondsAfterFinished !== undefined && spec.ttlSecondsAfterFinished !== null)
      act.requeueAfter(key, spec.ttlSecondsAfterFinished * 1000 + 10);
    return;
  }

  // Start what is missing, within parallelism; stop extras (newest first).
  if (exp.satisfied(key)) {
    if (indexed && completions !== undefined) {
      const busy = new Set(active.map(indexOf));
      const want: number[] = [];
      for (let i = 0; i < completions && busy.size + want.length < parallelism; i++)
        if (!succeededIdx.has(i) && !busy.has(i)) want.push(i);
      await createAll(want);
    } else {
      const remaining =
        completions === undefined ? (succeeded > 0 ? 0 : parallelism) : completions - succeeded;
      const target = Math.max(0, Math.min(parallelism, remaining));
      if (active.length < target)
        await createAll(Array.from({ length: target - active.length }, () => undefined));
      else if (active.length > target) {
        const extra = [...active]
          .sort((a, b) =>
            String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)),
          )
          .slice(0, active.length - target);
        exp.expect(key, 0, extra.length);
        for (const p of extra) await unlessNotFound(act.deletePod(ns, p.metadata.name!));
      }
    }
  }
  await write(active.length, active.filter(isPodReady).length);

  async function createAll(indexes: (number | undefined)[]): Promise<void> {
    if (indexes.length === 0) return;
    await createPods(
      key,
      exp,
      indexes,
      (i) => act.createPod(ns, podFromJob(job!, i)),
      (c) =>
        act.event?.(
          job!,
          'Normal',
          'SuccessfulCreate',
          `Created pod: ${(c as KubeObject)?.metadata?.name ?? ''}`,
        ),
    );
  }

  async function write(activeNow: number, ready: number): Promise<void> {
    const next = {
      ...status,
      active: activeNow || undefined,
      ready,
      succeeded: succeeded || undefined,
      failed: failed || undefined,
      conditions: conditions.length ? conditions : undefined,
      ...(indexed ? { completedIndexes: formatIndexes(succeededIdx) || undefined } : {}),
    };
    for (const k of Object.keys(next))
      if ((next as Record<string, unknown>)[k] === undefined) delete (next as Record<string, unknown>)[k];
    if (JSON.stringify(next) !== JSON.stringify(job!.status ?? {}))
      await act.updateStatus({ ...job!, status: next });
  }
}

export const jobController: ControllerSpec = {
  name: 'job',
  start(ctx) {
    const jobs = ctx.informer(Resources.jobs);
    const pods = ctx.informer(Resources.pods);
    const exp = new Expectations();
    const q = ctx.queue(
      (key) =>
        syncJob(
          key,
          { getJob: (k) => jobs.get(k), podsOf: (j) => ownedBy(pods, j.metadata.uid!) },
          {
            createPod: (ns, p) => ctx.client.create(Resources.pods, ns, p),
            deletePod: (ns, name) => ctx.client.delete(Resources.pods, ns, name),
            updateStatus: (j) => ctx.client.updateStatus(Resources.jobs, j),
            deleteJob: (j) =>
              unlessNotFound(
                ctx.client.delete(Resources.jobs, j.metadata.namespace, j.metadata.name!, {
                  propagationPolicy: 'Background',
                  uid: j.metadata.uid,
                }),
              ),
            requeueAfter: (k, ms) => q.checkAfter(k, ms),
            event: (o, type, reason, message) =>
              ctx
                .recorder('job-controller')
                .record({ ...o, apiVersion: 'batch/v1', kind: 'Job' }, type, reason, message),
          },
          exp,
        ),
      4,
    );
    jobs
      .onAdd((j) => q.add(keyOf(j)))
      .onUpdate((j) => q.add(keyOf(j)))
      .onDelete((j) => exp.delete(keyOf(j)));
    const jobKeyOf = (p: KubeObject) => ownerKey(p, 'Job');
    pods
      .onAdd((p) => {
        const k = jobKeyOf(p);
        if (k) {
          exp.observed(k, 'add');
          q.add(k);
        }
      })
      .onUpdate((p) => {
        const k = jobKeyOf(p);
        if (k) q.add(k);
      })
      .onDelete((p) => {
        const k = jobKeyOf(p);
        if (k) {
          exp.observed(k, 'del');
          q.add(k);
        }
      });
  },
};
