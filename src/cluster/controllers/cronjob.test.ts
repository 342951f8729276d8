import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { SCHEDULED, syncCronJob } from './cronjob.js';

const NOW = Date.parse('2026-11-22T10:07:30Z');
const cron = (spec: Record<string, unknown>, status: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name: 'cj', namespace: 'default', uid: 'cj-uid', creationTimestamp: '2026-11-22T09:00:00Z' },
  spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { spec: {} } } }, ...spec },
  status,
});
const job = (name: string, done?: 'Complete' | 'Failed', created = '2026-11-22T10:00:00Z'): KubeObject => ({
  metadata: { name, namespace: 'default', uid: name, creationTimestamp: created },
  status: done ? { conditions: [{ type: done, status: 'True' }], completionTime: created } : {},
});

async function run(cj: KubeObject, jobs: KubeObject[]) {
  const log: string[] = [];
  let status: KubeObject['status'];
  let wake = 0;
  await syncCronJob(
    'default/cj',
    { getCronJob: () => cj, jobsOf: () => jobs },
    {
      createJob: async (_ns, j) => {
        log.push(`create ${j.metadata.name} ${j.metadata.annotations?.[SCHEDULED]}`);
        return { ...j, metadata: { ...j.metadata, uid: 'new' } };
      },
      deleteJob: async (j) => log.push(`delete ${j.metadata.name}`),
      updateStatus: async (o) => {
        status = o.status;
      },
      requeueAfter: (_k, ms) => {
        wake = ms;
      },
      now: () => NOW,
    },
  );
  return { log, status, wake };
}

test('the latest missed time runs once, named by its minute; the next time is planned', async () => {
  const r = await run(cron({}, { lastScheduleTime: '2026-11-22T09:55:00Z' }), []);
  const t = Date.parse('2026-11-22T10:05:00Z');
  assert.deepEqual(r.log, [`create cj-${t / 60_000} 2026-11-22T10:05:00Z`]);
  assert.equal(r.status?.lastScheduleTime, '2026-11-22T10:05:00Z');
  assert.equal(r.status?.active?.[0]?.name, `cj-${t / 60_000}`);
  assert.equal(r.wake, Date.parse('2026-11-22T10:10:00Z') - NOW + 100);
});

test('Forbid skips while a Job runs; Replace replaces it; deadlines and suspend stop starts', async () => {
  const running = job('cj-old');
  let r = await run(cron({ concurrencyPolicy: 'Forbid' }, { lastScheduleTime: '2026-11-22T10:00:00Z' }), [
    running,
  ]);
  assert.deepEqual(r.log, []);
  r = await run(cron({ concurrencyPolicy: 'Replace' }, { lastScheduleTime: '2026-11-22T10:00:00Z' }), [
    running,
  ]);
  assert.equal(r.log[0], 'delete cj-old');
  assert.match(r.log[1]!, /^create cj-/);
  r = await run(cron({ startingDeadlineSeconds: 60 }, { lastScheduleTime: '2026-11-22T10:00:00Z' }), []);
  assert.deepEqual(r.log, [], 'the 10:05 start is 150 s late, past a 60 s deadline');
  r = await run(cron({ suspend: true }, { lastScheduleTime: '2026-11-22T10:00:00Z' }), []);
  assert.deepEqual(r.log, []);
});

test('history limits keep the newest finished Jobs', async () => {
  const jobs = [
    job('a', 'Complete', '2026-11-22T09:00:00Z'),
    job('b', 'Complete', '2026-11-22T09:05:00Z'),
    job('c', 'Failed', '2026-11-22T09:10:00Z'),
    job('d', 'Failed', '2026-11-22T09:15:00Z'),
  ];
  const r = await run(
    cron({ successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 1, suspend: true }),
    jobs,
  );
  assert.deepEqual(r.log, ['delete a', 'delete c']);
  assert.equal(r.status?.lastSuccessfulTime, '2026-11-22T09:05:00Z');
});
