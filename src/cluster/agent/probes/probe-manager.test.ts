import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../client/kube-client.js';
import type { ContainerStatus } from '../runtime.js';
import { ProbeManager } from './probe-manager.js';
import { probeOf } from './probe-spec.js';
import { FakeTimers } from './timers.js';

const probe = (extra: Record<string, unknown> = {}) => ({ exec: { command: ['check'] }, ...extra });

function podWith(container: Record<string, unknown>): KubeObject {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'u1' },
    spec: { containers: [{ name: 'c', image: 'busybox', ...container }] },
  };
}

function running(id: string, startedAt: number): ContainerStatus {
  return {
    id,
    sandboxId: 's',
    pod: { uid: 'u1', name: 'web', namespace: 'default' },
    name: 'c',
    attempt: 0,
    init: false,
    state: 'running',
    image: 'busybox',
    imageId: 'sha256:x',
    createdAt: startedAt,
    startedAt,
    finishedAt: 0,
    exitCode: 0,
  };
}

/** A manager whose probes answer from `outcomes` (by kind: true succeeds). */
function harness(container: Record<string, unknown>) {
  const timers = new FakeTimers();
  const outcomes: Record<string, boolean> = { check: true };
  const changes: string[] = [];
  const events: string[] = [];
  const runs: string[] = [];
  const m = new ProbeManager({
    runtime: {},
    timers,
    onChange: (p) => changes.push(p.name),
    event: (_p, type, reason, message) => events.push(`${type} ${reason} ${message}`),
    run: async (a) => {
      const cmd = a.type === 'exec' ? (a.command[0] ?? '') : a.type;
      runs.push(cmd);
      return outcomes[cmd] ? { ok: true, output: '' } : { ok: false, output: `${cmd} said no` };
    },
  });
  const pod = podWith(container);
  const spec = (pod.spec?.containers ?? [])[0];
  const step = async (ms: number) => {
    timers.advance(ms);
    await m.settled();
  };
  return { timers, outcomes, changes, events, runs, m, pod, spec, step };
}

test("probe defaults are Kubernetes' (period 10 s, timeout 1 s, thresholds 1 and 3) and named ports resolve", () => {
  const c = {
    name: 'c',
    ports: [{ name: 'http', containerPort: 8080 }],
    readinessProbe: { httpGet: { port: 'http' } },
  };
  const p = probeOf(c, 'readiness');
  assert.deepEqual(
    { ...p, action: undefined },
    {
      action: undefined,
      initialDelaySeconds: 0,
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
  );
  assert.deepEqual(p?.action, { type: 'http', scheme: 'HTTP', port: 8080, path: '/', headers: [] });
  // A port the container does not name makes a probe that fails saying so, as the kubelet's does.
  assert.deepEqual(
    probeOf({ name: 'c', livenessProbe: { tcpSocket: { port: 'nope' } } }, 'liveness')?.action,
    {
      type: 'invalid',
      message: 'port "nope" is not a number nor a named port of container "c"',
    },
  );
});

test('readiness is false until the probe succeeds, and waits for the initial delay', async () => {
  const h = harness({ readinessProbe: probe({ initialDelaySeconds: 5, periodSeconds: 2 }) });
  const c = running('id1', h.timers.now());
  h.m.update(h.pod, [c], '10.42.0.2');
  assert.deepEqual(h.m.verdict('u1', h.spec, 'id1'), { started: true, ready: false });
  await h.step(4_000);
  assert.equal(h.runs.length, 0, 'no probe before initialDelaySeconds');
  await h.step(1_000);
  assert.deepEqual(h.m.verdict('u1', h.spec, 'id1'), { started: true, ready: true });
  assert.deepEqual(h.changes, ['web']);
});

test('readiness falls only after failureThreshold failures in a row and comes back after successThreshold', async () => {
  const h = harness({
    readinessProbe: probe({ periodSeconds: 1, failureThreshold: 2, successThreshold: 2 }),
  });
  h.m.update(h.pod, [running('id1', h.timers.now())], '10.42.0.2');
  await h.step(0);
  await h.step(1_000);
  assert.equal(h.m.verdict('u1', h.spec, 'id1').ready, true, 'two successes make it ready');
  h.outcomes.check = false;
  await h.step(1_000);
  assert.equal(h.m.verdict('u1', h.spec, 'id1').ready, true, 'one failure is not enough');
  await h.step(1_000);
  assert.equal(h.m.verdict('u1', h.spec, 'id1').ready, false);
  assert.ok(h.events.includes('Warning Unhealthy Readiness probe failed: check said no'));
  h.outcomes.check = true;
  await h.step(1_000);
  assert.equal(h.m.verdict('u1', h.spec, 'id1').ready, false, 'one success is not enough');
  await h.step(1_000);
  assert.equal(h.m.verdict('u1', h.spec, 'id1').ready, true);
});

test('a liveness probe failing failureThreshold times asks for a kill with the probe grace period, once', async () => {
  const h = harness({
    livenessProbe: probe({ periodSeconds: 3, failureThreshold: 3, terminationGracePeriodSeconds: 4 }),
  });
  h.outcomes.check = false;
  h.m.update(h.pod, [running('id1', h.timers.now())], '10.42.0.2');
  await h.step(0);
  await h.step(3_000);
  assert.equal(h.m.verdict('u1', h.spec, 'id1').kill, undefined);
  await h.step(3_000);
  assert.deepEqual(h.m.verdict('u1', h.spec, 'id1').kill, { kind: 'liveness', graceSeconds: 4 });
  const before = h.runs.length;
  await h.step(30_000);
  assert.equal(h.runs.length, before, 'a worker on hold probes no more');
  // The restarted container (a new id) gets a fresh worker that starts from success.
  h.m.update(h.pod, [running('id2', h.timers.now())], '10.42.0.2');
  assert.equal(h.m.verdict('u1', h.spec, 'id2').kill, undefined);
});

test('a startup probe gates liveness and readiness until it succeeds, then stops', async () => {
  const h = harness({
    startupProbe: { exec: { command: ['boot'] }, periodSeconds: 1, failureThreshold: 10 },
    livenessProbe: probe({ periodSeconds: 1 }),
    readinessProbe: probe({ periodSeconds: 1 }),
  });
  h.m.update(h.pod, [running('id1', h.timers.now())], '10.42.0.2');
  await h.step(0);
  await h.step(1_000);
  assert.deepEqual(h.runs, ['boot', 'boot'], 'only the startup probe runs before it succeeds');
  assert.deepEqual(h.m.verdict('u1', h.spec, 'id1'), { started: false, ready: false });
  h.outcomes.boot = true;
  await h.step(1_000);
  assert.equal(h.m.verdict('u1', h.spec, 'id1').started, true);
  await h.step(1_000);
  assert.deepEqual(h.m.verdict('u1', h.spec, 'id1'), { started: true, ready: true });
  await h.step(5_000);
  assert.equal(h.runs.filter((r) => r === 'boot').length, 3, 'the startup probe stops after its success');
});

test('a startup probe that keeps failing asks for a kill', async () => {
  const h = harness({ startupProbe: probe({ periodSeconds: 1, failureThreshold: 2 }) });
  h.outcomes.check = false;
  h.m.update(h.pod, [running('id1', h.timers.now())], '10.42.0.2');
  await h.step(0);
  await h.step(1_000);
  assert.equal(h.m.verdict('u1', h.spec, 'id1').kill?.kind, 'startup');
});

test('workers of containers that stop running, and of forgotten pods, stop', async () => {
  const h = harness({ readinessProbe: probe({ periodSeconds: 1 }) });
  h.m.update(h.pod, [running('id1', h.timers.now())], '10.42.0.2');
  await h.step(0);
  h.m.update(h.pod, [{ ...running('id1', h.timers.now()), state: 'exited' }], '10.42.0.2');
  const before = h.runs.length;
  await h.step(5_000);
  assert.equal(h.runs.length, before);
  h.m.update(h.pod, [running('id2', h.timers.now())], '10.42.0.2');
  h.m.forget('u1');
  await h.step(5_000);
  assert.equal(h.runs.length, before);
});
