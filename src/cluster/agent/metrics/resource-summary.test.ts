import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerStatus } from '../runtime.js';
import { ResourceSummary } from './resource-summary.js';

test('CPU is a rate between samples at least a second apart; stopped containers are left out', async () => {
  let clock = 1_000_000;
  let nodeCpu = 0;
  let podCpu = 0;
  const containers = [
    { id: 'c1', name: 'main', state: 'running', pod: { name: 'p', namespace: 'ns', uid: 'u' } },
    { id: 'c2', name: 'old', state: 'exited', pod: { name: 'p', namespace: 'ns', uid: 'u' } },
  ] as ContainerStatus[];
  const s = new ResourceSummary({
    nodeName: 'n1',
    now: () => clock,
    node: () => ({ cpuNanos: nodeCpu, workingSetBytes: 1000 }),
    runtime: () => ({
      listContainers: async () => containers,
      containerUsage: async () => ({ cpuNanos: podCpu, workingSetBytes: 500 }),
    }),
  });
  const first = await s.summary();
  assert.equal(first.node.cpu.usageNanoCores, undefined, 'one sample gives no rate');
  clock += 2000;
  nodeCpu += 3e9; // 1.5 cores over 2 s
  podCpu += 1e9; // half a core
  clock += 0;
  const second = await s.summary();
  assert.equal(second.node.cpu.usageNanoCores, 1.5e9);
  assert.deepEqual(
    second.pods.map((p) => [
      p.podRef.name,
      p.containers.map((c) => [c.name, c.cpu.usageNanoCores, c.memory.workingSetBytes]),
    ]),
    [['p', [['main', 5e8, 500]]]],
  );
  clock += 100;
  assert.equal((await s.summary()).node.cpu.usageNanoCores, 1.5e9, 'a sample too soon keeps the last rate');
  s.stop();
});
