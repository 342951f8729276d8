/**
 * The CronJob controller (after kube-controller-manager's v2 controller): at each scheduled
 * time (in spec.timeZone) it creates a Job from the template, named
 * `<cronjob>-<minutes since the epoch>` so a time is never run twice; honours
 * concurrencyPolicy (Allow, Forbid, Replace), startingDeadlineSeconds (a start missed by
 * more is skipped), suspend, and the history limits; keeps status.active,
 * lastScheduleTime and lastSuccessfulTime; and wakes itself for the next time.
 */
import { isAlreadyExists, unlessNotFound } from '../../core/errors.js';
import { nextTime, parseSchedule } from '../api/cron.js';
import { metaTime } from '../api/meta-time.js';
import { controllerRefOf } from '../client/controller-ref.js';
import { keyOf } from '../client/informer.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import { type ControllerSpec, ownedBy, ownerKey } from './context.js';
import { isJobFinished } from './job.js';

export const SCHEDULED = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

export interface CronJobCaches {
  getCronJob(key: string): KubeObject | undefined;
  jobsOf(cj: KubeObject): KubeObject[];
}

export interface CronJobActions {
  createJob(ns: string, job: KubeObject): Promise<unknown>;
  deleteJob(job: KubeObject): Promise<unknown>;
  updateStatus(cj: KubeObject): Promise<unknown>;
  requeueAfter(key: string, ms: number): void;
  event?(cj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
  now?(): number;
}

const ref = (j: KubeObject) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  name: j.metadata.name,
  namespace: j.metadata.namespace,
  uid: j.metadata.uid,
  resourceVersion: j.metadata.resourceVersion,
});
const succeeded = (j: KubeObject) =>
  (j.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === 'Complete' && c.status === 'True',
  );

/** The latest scheduled time in (after, now], and how many were missed; upstream's rule. */
function lastMissed(
  sched: ReturnType<typeof parseSchedule>,
  after: number,
  now: number,
  zone: string,
): { time?: number; missed: number } {
  let t = nextTime(sched, after, zone);
  let last: number | undefined;
  let missed = 0;
  while (t !== undefined && t <= now) {
    last = t;
    if (++missed > 100) break;
    t = nextTime(sched, t, zone);
  }
  return { time: last, missed };
}

export async function syncCronJob(key: string, caches: CronJobCaches, act: CronJobActions): Promise<void> {
  const cj = caches.getCronJob(key);
  if (!cj || cj.metadata.deletionTimestamp) return;
  const now = act.now?.() ?? Date.now();
  const ns = cj.metadata.namespace!;
  const spec = cj.spec ?? {};
  const zone = spec.timeZone ?? 'UTC';
  let sched: ReturnType<typeof parseSchedule>;
  try {
    sched = parseSchedule(String(spec.schedule ?? ''));
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch (e) {
    act.event?.(cj, 'Warning', 'UnparseableSchedule', (e as Error).message);
    return;
  }
  const jobs = caches.jobsOf(cj);
  const active = jobs.filter((j) => !isJobFinished(j));
  const status = { ...(cj.status ?? {}) };

  // History: the oldest finished Jobs beyond the limits go.
  const byStart = (a: KubeObject, b: KubeObject) =>
    String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp));
  const done = jobs.filter(isJobFinished).sort(byStart);
  const good = done.filter(succeeded);
  const bad = done.filter((j) => !succeeded(j));
  for (const [list, limit] of [
    [good, spec.successfulJobsHistoryLimit ?? 3],
    [bad, spec.failedJobsHistoryLimit ?? 1],
  ] as const)
    for (const j of list.slice(0, Math.max(0, list.length - limit))) await act.deleteJob(j);
  const lastOk = good.at(-1)?.status?.completionTime;
  if (lastOk) status.lastSuccessfulTime = lastOk;

  let startedNow: KubeObject | undefined;
  let current = active;
  if (!spec.suspend) {
    const since =
      Date.parse(status.lastScheduleTime ?? '') || Date.parse(cj.metadata.creationTimestamp ?? '') || now;
    const deadline = spec.startingDeadlineSeconds;
    const from = deadline !== undefined && deadline !== null ? Math.max(since, now - deadline * 1000) : since;
    const { time, missed } = lastMissed(sched, from, now, zone);
    if (missed > 100)
      act.event?.(
        cj,
        'Warning',
        'TooManyMissedTimes',
        'too many missed start times (> 100). Set or decrease .spec.startingDeadlineSeconds or check clock skew',
      );
    if (time !== undefined) {
      const policy = spec.concurrencyPolicy ?? 'Allow';
      if (policy === 'Forbid' && active.length > 0) {
        act.event?.(
          cj,
          'Normal',
          'JobAlreadyActive',
          'Not starting job because prior execution is running and concurrency policy is Forbid',
        );
      } else {
        if (policy === 'Replace') {
          for (const j of active) {
            await act.deleteJob(j);
            act.event?.(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata.name}`);
          }
          current = [];
        }
        const name = `${cj.metadata.name}-${Math.floor(time / 60_000)}`;
        const template = spec.jobTemplate ?? {};
        const job: KubeObject = {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: {
            name,
            namespace: ns,
            labels: { ...(template.metadata?.labels ?? {}) },
            annotations: { ...(template.metadata?.annotations ?? {}), [SCHEDULED]: metaTime(time) },
            ownerReferences: [controllerRefOf(cj, 'batch/v1', 'CronJob')],
          },
          spec: structuredClone(template.spec ?? {}),
        };
        try {
          startedNow = (await act.createJob(ns, job)) as KubeObject;
          if (startedNow?.metadata) current = [...current, startedNow];
          act.event?.(cj, 'Normal', 'SuccessfulCreate', `Created job ${name}`);
        } catch (e) {
          if (!isAlreadyExists(e)) throw e; // this time already ran
        }
        status.lastScheduleTime = metaTime(time);
      }
    }
    const upcoming = nextTime(sched, now, zone);
    if (upcoming !== undefined) act.requeueAfter(key, upcoming - now + 100);
  }

  const activeRefs = current.map(ref).map(({ resourceVersion: _rv, ...r }) => r);
  if (activeRefs.length) status.active = activeRefs;
  else delete status.active;
  if (JSON.stringify(status) !== JSON.stringify(cj.status ?? {})) await act.updateStatus({ ...cj, status });
}

export const cronJobController: ControllerSpec = {
  name: 'cronjob',
  start(ctx) {
    const cronjobs = ctx.informer(Resources.cronjobs);
    const jobs = ctx.informer(Resources.jobs);
    const q = ctx.queue(
      (key) =>
        syncCronJob(
          key,
          { getCronJob: (k) => cronjobs.get(k), jobsOf: (cj) => ownedBy(jobs, cj.metadata.uid!) },
          {
            createJob: (ns, j) => ctx.client.create(Resources.jobs, ns, j),
            deleteJob: (j) =>
              unlessNotFound(
                ctx.client.delete(Resources.jobs, j.metadata.namespace, j.metadata.name!, {
                  propagationPolicy: 'Background',
                  uid: j.metadata.uid,
                }),
              ),
            updateStatus: (cj) => ctx.client.updateStatus(Resources.cronjobs, cj),
            requeueAfter: (k, ms) => q.checkAfter(k, ms),
            event: (o, type, reason, message) =>
              ctx
                .recorder('cronjob-controller')
                .record({ ...o, apiVersion: 'batch/v1', kind: 'CronJob' }, type, reason, message),
          },
        ),
      2,
    );
    cronjobs.onAdd((c) => q.add(keyOf(c))).onUpdate((c) => q.add(keyOf(c)));
    const onJob = (j: KubeObject) => {
      const k = ownerKey(j, 'CronJob');
      if (k) q.add(k);
    };
    jobs.onAdd(onJob).onUpdate(onJob).onDelete(onJob);
  },
};
