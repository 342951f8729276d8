// A `kill -9` of berth server loses no acknowledged write, and it starts again on the same data dir.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startCluster } from './helpers/cluster.js';

test('objects written before a kill -9 are there after a restart', async (t) => {
  const c = await startCluster(t);
  for (let i = 0; i < 5; i++) {
    const r = await c.kubectl(['create', 'configmap', `keep-${i}`, `--from-literal=i=${i}`]);
    assert.equal(r.code, 0, r.stderr);
  }
  await c.restart();
  const r = await c.kubectl(['get', 'cm', '-o', 'jsonpath={.items[*].metadata.name}']);
  assert.equal(r.code, 0, r.stderr);
  for (let i = 0; i < 5; i++) assert.ok(r.stdout.split(' ').includes(`keep-${i}`), r.stdout);
  const svc = await c.kubectl(['get', 'svc', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}']);
  assert.equal(svc.stdout, '10.43.0.1');
});
