import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../client/kube-client.js';
import { SimRuntime } from '../../sim/sim-runtime.js';
import { PodSyncer } from '../pod-sync.js';
import type { PodRuntime } from '../runtime.js';
import { ProbeManager } from './probe-manager.js';
import type { ActionResult } from './run-action.js';
import { FakeTimers } from './timers.js';

/** A pod syncer on the in-memory runtime whose probes and hooks answer from `ok` (by command). */
function harness(container: Record<string, unknown>) {
  const timers = new FakeTimers();
  const runtime: PodRuntime = new SimRuntime({ subnet: '10.42.0', now: () => timers.now() });
  const ok: Record<string, boolean> = {};
  const ran: string[] = [];
  const events: string[] = [];
  const synced: string[] = [];
  runtime.exec = async (_id, cmd) => {
    ran.push(cmd.join(' '));
    return ok[cmd.join(' ')] ? 0 : 1;
  };
  const event = (_p: unknown, type: string, reason: string, message: string) =>
    events.push(`${type} ${reason}: ${message}`);
  const probes = new ProbeManager({
    runtime,
    timers,
    event,
    onChange: (p) => synced.push(p.name),
    run: async (a): Promise<ActionResult> => {
      const cmd = a.type === 'exec' ? a.command.join(' ') : '';
      return ok[cmd] ? { ok: true, output: '' } : { ok: false, output: `${cmd} failed` };
    },
  });
  const pod: KubeObject = {
    metadata: { name: 'web', namespace: 'default', uid: 'u1' },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox', ...container }] },
    status: { phase: 'Pending' },
  };
  const syncer = new PodSyncer({
    nodeName: 'n1',
    nodeIP: '192.0.2.10',
    runtime,
    now: () => timers.now(),
    probes,
    event,
    api: {
      async patchStatus(_ns, _name, status) {
        pod.status = { ...pod.status, ...status };
      },
      async deletePod() {},
    },
    objects: { configMap: async () => undefined, secret: async () => undefined },
  });
  // biome-ignore lint/suspicious/noExplicitAny: status shapes are checked field by field
  const cs = (): any => (pod.status?.containerStatuses ?? [])[0];
  const step = async (ms: number) => {
    timers.advance(ms);
    await probes.settled();
    await syncer.sync(pod);
  };
  return { ok, ran, events, synced, pod, cs, step, sync: () => syncer.sync(pod), runtime };
}

test('a readiness probe gates the container, ContainersReady and Ready', async () => {
  const h = harness({ readinessProbe: { exec: { command: ['ready'] }, periodSeconds: 5 } });
  await h.sync();
  assert.equal(h.cs().ready, false);
  assert.equal(h.cs().started, true);
  const cond = () =>
    ((h.pod.status?.conditions ?? []) as { type: string; status: string }[]).map(
      (c) => `${c.type}=${c.status}`,
    );
  assert.deepEqual(cond().slice(2, 4), ['Ready=False', 'ContainersReady=False']);
  h.ok.ready = true;
  await h.step(5_000);
  assert.deepEqual(h.synced, ['web'], 'the result change asked for a sync');
  assert.equal(h.cs().ready, true);
  assert.deepEqual(cond().slice(2, 4), ['Ready=True', 'ContainersReady=True']);
});

test('a failing liveness probe kills and restarts the container, counting it, with events', async () => {
  const h = harness({
    livenessProbe: { exec: { command: ['alive'] }, periodSeconds: 1, failureThreshold: 2 },
  });
  await h.sync();
  const first = h.cs().containerID;
  await h.step(0);
  await h.step(1_000);
  assert.equal(h.cs().restartCount, 1);
  assert.notEqual(h.cs().containerID, first);
  assert.equal(h.cs().lastState.terminated.exitCode, 137);
  assert.ok(h.events.includes('Warning Unhealthy: Liveness probe failed: alive failed'));
  assert.ok(h.events.includes('Normal Killing: Container c failed liveness probe, will be restarted'));
  assert.deepEqual(
    h.events.filter((e) => / (Created|Started):/.test(e)),
    [
      'Normal Created: Created container: c',
      'Normal Started: Started container c',
      'Normal Created: Created container: c',
      'Normal Started: Started container c',
    ],
  );
});

test('a failing postStart hook kills the container (FailedPostStartHook); preStop runs before the stop', async () => {
  const h = harness({
    lifecycle: { postStart: { exec: { command: ['setup'] } }, preStop: { exec: { command: ['drain'] } } },
  });
  await h.sync();
  assert.ok(
    h.events.some((e) => e.startsWith('Warning FailedPostStartHook: Exec lifecycle hook (["setup"])')),
  );
  assert.equal((await h.runtime.listContainers())[0]?.state, 'exited');
  h.ok.setup = true;
  await h.sync();
  assert.equal(h.cs().restartCount, 1);
  assert.ok(h.cs().state.running);
  h.pod.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
  await h.sync();
  assert.deepEqual(h.ran, ['setup', 'setup', 'drain']);
  assert.ok(h.events.includes('Normal Killing: Stopping container c'));
});
