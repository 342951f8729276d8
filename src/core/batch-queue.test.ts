import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchQueue } from './batch-queue.js';

/** A queue whose calls are recorded and finished by hand. */
function recorded() {
  const calls: { jobs: number[]; finish(fail?: Error): void }[] = [];
  const q = new BatchQueue<number, string>(
    (jobs) =>
      new Promise((resolve, reject) => {
        calls.push({ jobs, finish: (fail) => (fail ? reject(fail) : resolve(jobs.map((j) => `done ${j}`))) });
      }),
  );
  return { q, calls };
}

test('a job on an idle queue runs alone at once; jobs added meanwhile run together next', async () => {
  const { q, calls } = recorded();
  const first = q.add(1);
  assert.deepEqual(
    calls.map((c) => c.jobs),
    [[1]],
  );
  const rest = [q.add(2), q.add(3), q.add(4)];
  assert.equal(calls.length, 1, 'nothing else starts while a call runs');
  calls[0]!.finish();
  assert.equal(await first, 'done 1');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    calls.map((c) => c.jobs),
    [[1], [2, 3, 4]],
  );
  calls[1]!.finish();
  assert.deepEqual(await Promise.all(rest), ['done 2', 'done 3', 'done 4']);
});

test("a call's error fails its own jobs only; the queue goes on", async () => {
  const { q, calls } = recorded();
  const first = q.add(1);
  const second = q.add(2);
  calls[0]!.finish(new Error('boom'));
  await assert.rejects(first, /boom/);
  await new Promise((r) => setImmediate(r));
  calls[1]!.finish();
  assert.equal(await second, 'done 2');
  const third = q.add(3);
  assert.deepEqual(calls[2]!.jobs, [3]);
  calls[2]!.finish();
  assert.equal(await third, 'done 3');
});
