import assert from 'node:assert/strict';
import { test } from 'node:test';
import { behaviorOf, type PodSample, Recommendations, replicasFor } from './hpa-replicas.js';

const pod = (name: string, usage: number | undefined, o: Partial<PodSample> = {}): PodSample => ({
  name,
  ready: true,
  ignored: false,
  request: 100,
  usage,
  ...o,
});

test('utilization over the target scales up by the ratio, rounded up', () => {
  // 3 pods at 90% of a 50% target: ratio 1.8, ceil(1.8 * 3) = 6.
  const r = replicasFor('cpu', 3, [pod('a', 90), pod('b', 90), pod('c', 90)], { utilization: 50 });
  assert.deepEqual(r, { replicas: 6, utilization: 90, averageValue: 90 });
});

test('within the 10% tolerance the size stays', () => {
  const r = replicasFor('cpu', 2, [pod('a', 54), pod('b', 54)], { utilization: 50 });
  assert.equal(r.replicas, 2);
  assert.equal(replicasFor('cpu', 2, [pod('a', 56), pod('b', 56)], { utilization: 50 }).replicas, 3);
});

test('scaling down assumes full use for pods without metrics, and stays if that crosses the target', () => {
  // Two pods at 10%, one without metrics (assumed 100%): (10+10+100)/3 = 40% of 50%: ceil(0.8*3) = 3.
  const r = replicasFor('cpu', 3, [pod('a', 10), pod('b', 10), pod('c', undefined)], { utilization: 50 });
  assert.equal(r.replicas, 3);
  const r2 = replicasFor('cpu', 4, [pod('a', 0), pod('b', 0), pod('c', 0), pod('d', undefined)], {
    utilization: 50,
  });
  // (0+0+0+100)/4 = 25% of 50%: ratio 0.5, ceil(0.5*4) = 2.
  assert.equal(r2.replicas, 2);
});

test('CPU of unready pods is set aside, and counted as zero when scaling up', () => {
  // Ready pod at 200% of 100%; the unready one counted as 0: (200+0)/2 = 100% -> no change.
  const r = replicasFor('cpu', 2, [pod('a', 200), pod('b', 300, { ready: false })], { utilization: 100 });
  assert.equal(r.replicas, 2);
  // Memory does not set unready pods aside.
  const m = replicasFor('memory', 2, [pod('a', 200), pod('b', 300, { ready: false })], { utilization: 100 });
  assert.equal(m.replicas, 5);
});

test('average values, ignored pods and missing requests', () => {
  assert.equal(replicasFor('memory', 1, [pod('a', 300)], { averageValue: 100 }).replicas, 3);
  assert.equal(
    replicasFor('cpu', 2, [pod('a', 100), pod('gone', 1000, { ignored: true })], { utilization: 100 })
      .replicas,
    2,
  );
  assert.throws(
    () => replicasFor('cpu', 1, [pod('a', 50, { request: undefined })], { utilization: 50 }),
    /missing request for cpu in pod a/,
  );
  assert.throws(() => replicasFor('cpu', 1, [], { utilization: 50 }), /no pods returned by selector/);
});

test('scale-down is stabilized over the window (the highest recommendation in 300 s); scale-up is not', () => {
  const recs = new Recommendations();
  const b = behaviorOf({});
  assert.deepEqual(b, { scaleUpWindowSeconds: 0, scaleDownWindowSeconds: 300 });
  assert.equal(recs.stabilize('h', 0, 2, 5, b), 5);
  assert.equal(recs.stabilize('h', 60_000, 5, 1, b), 5, 'within the window the earlier 5 holds');
  assert.equal(recs.stabilize('h', 200_000, 5, 2, b), 5);
  assert.equal(recs.stabilize('h', 301_000, 5, 1, b), 2, 'the 5 left the window; the 2 of 200 s holds');
  assert.equal(recs.stabilize('h', 600_000, 2, 1, b), 1);
  assert.equal(recs.stabilize('h', 601_000, 1, 4, b), 4);
});
