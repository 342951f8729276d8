import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BerthError } from '../../core/errors.js';
import type { KubeObject } from '../client/kube-client.js';
import { SimRuntime } from '../sim/sim-runtime.js';
import { PodSyncer } from './pod-sync.js';
import type { Mount, PodRuntime } from './runtime.js';
import type { PodVolumes } from './volumes/manager.js';
import { VolumeError } from './volumes/volume-error.js';

/** A pod as the API would hold it, with a status the syncer's patches are merged into. */
function podOf(spec: Record<string, unknown>, name = 'web'): KubeObject {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}` },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }], ...spec },
    status: { phase: 'Pending' },
  };
}

function harness(
  opts: {
    images?: string[];
    configMaps?: Record<string, Record<string, string>>;
    volumes?: PodVolumes;
    admit?: (pod: KubeObject) => string | undefined;
  } = {},
) {
  let clock = 1_000_000;
  const now = () => clock;
  const runtime = new SimRuntime({ subnet: '10.42.0', now, ...(opts.images ? { images: opts.images } : {}) });
  const patches: Record<string, unknown>[] = [];
  const deleted: string[] = [];
  const events: string[] = [];
  let current: KubeObject | undefined;
  const syncer = new PodSyncer({
    nodeName: 'n1',
    nodeIP: '192.0.2.10',
    runtime,
    now,
    event: (_ref, type, reason, message) => events.push(`${type} ${reason} ${message}`),
    ...(opts.volumes ? { volumes: opts.volumes } : {}),
    ...(opts.admit ? { admit: opts.admit } : {}),
    api: {
      async patchStatus(_ns, _name, status) {
        patches.push(status);
        if (current) current.status = { ...current.status, ...status };
      },
      async deletePod(ns, name, uid) {
        deleted.push(`${ns}/${name}/${uid}`);
      },
    },
    objects: {
      async configMap(_ns, name) {
        const data = opts.configMaps?.[name];
        return data ? { metadata: { name }, data } : undefined;
      },
      async secret() {
        return undefined;
      },
    },
  });
  return {
    runtime,
    syncer,
    patches,
    deleted,
    events,
    advance: (ms: number) => {
      clock += ms;
    },
    /** Syncs `pod`, keeping its status as the API would after the syncer's patch. */
    async sync(pod: KubeObject) {
      current = pod;
      return syncer.sync(pod);
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: status shapes are checked field by field
const statusOf = (p: KubeObject): any => p.status;

test('a new pod gets a sandbox and its container, and reports Running and Ready with its addresses', async () => {
  const h = harness();
  const pod = podOf({});
  await h.sync(pod);
  const s = statusOf(pod);
  assert.equal(s.phase, 'Running');
  assert.equal(s.podIP, '10.42.0.1');
  assert.equal(s.hostIP, '192.0.2.10');
  assert.ok(s.startTime);
  assert.deepEqual(
    s.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`),
    [
      'PodReadyToStartContainers=True',
      'Initialized=True',
      'Ready=True',
      'ContainersReady=True',
      'PodScheduled=True',
    ],
  );
  const cs = s.containerStatuses[0];
  assert.equal(cs.ready, true);
  assert.equal(cs.restartCount, 0);
  assert.match(cs.containerID, /^berth:\/\/[0-9a-f]{32}$/);
  assert.match(cs.imageID, /^sha256:/);
  assert.ok(cs.state.running.startedAt);
  assert.equal(h.patches.length, 1);
  // As the API may hand it back: the same status with its keys in another order.
  const reorder = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(reorder)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .reverse()
              .map(([k, x]) => [k, reorder(x)]),
          )
        : v;
  pod.status = reorder(pod.status);
  await h.sync(pod);
  assert.equal(h.patches.length, 1, 'an unchanged pod writes no status');
  assert.equal((await h.runtime.listContainers()).length, 1, 'and starts nothing twice');
});

test('a container that keeps exiting is restarted with back-off doubling from 10 s', async () => {
  const h = harness();
  const pod = podOf({});
  await h.sync(pod);
  const exitNow = async () => {
    const running = (await h.runtime.listContainers()).find((c) => c.state === 'running')!;
    h.runtime.exit(running.id, 1);
  };
  await exitNow();
  // The first restart is at once (the kubelet's back-off starts after the first one).
  assert.deepEqual(await h.sync(pod), {});
  assert.equal(statusOf(pod).containerStatuses[0].restartCount, 1);
  assert.equal(statusOf(pod).containerStatuses[0].lastState.terminated.exitCode, 1);
  await exitNow();
  const r = await h.sync(pod);
  assert.equal(r.retryAfterMs, 10_000);
  const cs = statusOf(pod).containerStatuses[0];
  assert.equal(cs.state.waiting.reason, 'CrashLoopBackOff');
  assert.match(
    cs.state.waiting.message,
    /back-off 10s restarting failed container=c pod=web_default\(uid-web\)/,
  );
  assert.equal(statusOf(pod).phase, 'Running', 'a pod restarting its containers stays Running');
  h.advance(10_000);
  await h.sync(pod);
  assert.equal(statusOf(pod).containerStatuses[0].restartCount, 2);
  assert.ok(statusOf(pod).containerStatuses[0].state.running);
  await exitNow();
  assert.equal((await h.sync(pod)).retryAfterMs, 20_000);
  // Only the latest run and the one before it are kept.
  assert.equal((await h.runtime.listContainers()).length, 2);
});

test('restartPolicy Never and OnFailure end the pod as Succeeded or Failed', async () => {
  for (const [policy, code, phase] of [
    ['Never', 0, 'Succeeded'],
    ['Never', 3, 'Failed'],
    ['OnFailure', 0, 'Succeeded'],
  ] as const) {
    const h = harness();
    const pod = podOf({ restartPolicy: policy });
    await h.sync(pod);
    const c = (await h.runtime.listContainers())[0]!;
    h.runtime.exit(c.id, code);
    await h.sync(pod);
    assert.equal(statusOf(pod).phase, phase, `${policy} exit ${code}`);
    const term = statusOf(pod).containerStatuses[0].state.terminated;
    assert.equal(term.exitCode, code);
    assert.equal(term.reason, code === 0 ? 'Completed' : 'Error');
    assert.equal(
      statusOf(pod).conditions.find((x: { type: string }) => x.type === 'Ready').reason,
      'PodCompleted',
    );
  }
});

test('init containers run one at a time, in order, before the containers', async () => {
  const h = harness();
  const pod = podOf({
    initContainers: [
      { name: 'i1', image: 'busybox' },
      { name: 'i2', image: 'busybox' },
    ],
  });
  await h.sync(pod);
  assert.deepEqual(
    (await h.runtime.listContainers()).map((c) => c.name),
    ['i1'],
  );
  assert.equal(statusOf(pod).phase, 'Pending');
  assert.equal(statusOf(pod).conditions[1].status, 'False');
  h.runtime.exit((await h.runtime.listContainers())[0]!.id, 0);
  await h.sync(pod);
  assert.deepEqual((await h.runtime.listContainers()).map((c) => c.name).sort(), ['i1', 'i2']);
  h.runtime.exit((await h.runtime.listContainers()).find((c) => c.name === 'i2')!.id, 0);
  await h.sync(pod);
  assert.equal(statusOf(pod).phase, 'Running');
  assert.equal(statusOf(pod).initContainerStatuses[1].state.terminated.reason, 'Completed');
});

test('a missing image shows ErrImagePull, then ImagePullBackOff', async () => {
  const h = harness({ images: ['busybox'] });
  const pod = podOf({ containers: [{ name: 'c', image: 'nothere:1' }] });
  const r = await h.sync(pod);
  assert.equal(r.retryAfterMs, 10_000);
  assert.equal(statusOf(pod).containerStatuses[0].state.waiting.reason, 'ErrImagePull');
  assert.match(statusOf(pod).containerStatuses[0].state.waiting.message, /nothere:1/);
  assert.equal(statusOf(pod).phase, 'Pending');
  await h.sync(pod);
  assert.equal(statusOf(pod).containerStatuses[0].state.waiting.reason, 'ImagePullBackOff');
});

test('imagePullPolicy Never: a missing image is ErrImageNeverPull, never pulled; a present one is used as it is', async () => {
  const h = harness({ images: ['busybox'] });
  (h.runtime as PodRuntime).imagePresent = async (image) => image === 'busybox';
  let creates = 0;
  const create = h.runtime.createContainer.bind(h.runtime);
  h.runtime.createContainer = async (sandbox, config) => {
    creates++;
    return create(sandbox, config);
  };
  const pod = podOf({ containers: [{ name: 'c', image: 'nothere:1', imagePullPolicy: 'Never' }] });
  const r = await h.sync(pod);
  assert.equal(r.retryAfterMs, 10_000);
  const waiting = statusOf(pod).containerStatuses[0].state.waiting;
  assert.equal(waiting.reason, 'ErrImageNeverPull');
  assert.equal(waiting.message, 'Container image "nothere:1" is not present with pull policy of Never');
  assert.deepEqual(h.events, [
    'Warning ErrImageNeverPull Container image "nothere:1" is not present with pull policy of Never',
    'Warning Failed Error: ErrImageNeverPull',
  ]);
  // The echo of that status write neither tries again nor turns it into ImagePullBackOff.
  assert.ok(((await h.sync(pod)).retryAfterMs ?? 0) > 0);
  assert.equal(statusOf(pod).containerStatuses[0].state.waiting.reason, 'ErrImageNeverPull');
  assert.equal(h.events.length, 2);
  assert.equal(creates, 0);

  const present = podOf({ containers: [{ name: 'c', image: 'busybox', imagePullPolicy: 'Never' }] }, 'ok');
  await h.sync(present);
  assert.equal(creates, 1);
  assert.ok(h.events.includes('Normal Pulled Container image "busybox" already present on machine'));
});

test('a registry that cannot be reached is ErrImagePull with the pull backoff, not a sync error', async () => {
  const h = harness({ images: ['busybox'] });
  h.runtime.createContainer = async () => {
    throw new BerthError('Unavailable', 'Cannot reach registry registry-1.docker.io: unknown host');
  };
  const pod = podOf({ containers: [{ name: 'c', image: 'typo:1' }] });
  const r = await h.sync(pod);
  assert.equal(r.retryAfterMs, 10_000);
  assert.equal(statusOf(pod).containerStatuses[0].state.waiting.reason, 'ErrImagePull');
  await h.sync(pod);
  assert.equal(statusOf(pod).containerStatuses[0].state.waiting.reason, 'ImagePullBackOff');
  // Syncs within the backoff (our own status writes bring them) do not pull again.
  let pulls = 0;
  h.runtime.createContainer = async () => {
    pulls++;
    throw new BerthError('Unavailable', 'Cannot reach registry registry-1.docker.io: unknown host');
  };
  assert.ok(((await h.sync(pod)).retryAfterMs ?? 0) > 0);
  assert.equal(pulls, 0);
  assert.equal(statusOf(pod).containerStatuses[0].state.waiting.reason, 'ImagePullBackOff');
});

test('env from a missing ConfigMap is CreateContainerConfigError naming it; values and fieldRefs resolve', async () => {
  const h = harness({ configMaps: { cfg: { mode: 'fast' } } });
  const bad = podOf({
    containers: [
      {
        name: 'c',
        image: 'busybox',
        env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'gone', key: 'k' } } }],
      },
    ],
  });
  await h.sync(bad);
  const w = statusOf(bad).containerStatuses[0].state.waiting;
  assert.equal(w.reason, 'CreateContainerConfigError');
  assert.match(w.message, /configmap "gone" not found/);
  const good = podOf(
    {
      containers: [
        {
          name: 'c',
          image: 'busybox',
          env: [
            { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } },
            { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'BOTH', value: '$(POD)-$(MODE)' },
          ],
        },
      ],
    },
    'good',
  );
  await h.sync(good);
  assert.equal(statusOf(good).phase, 'Running');
});

test('a deleted pod is stopped, its sandbox removed, then deleted for good with its uid', async () => {
  const h = harness();
  const pod = podOf({});
  await h.sync(pod);
  pod.metadata.deletionTimestamp = new Date().toISOString();
  pod.metadata.deletionGracePeriodSeconds = 30;
  await h.sync(pod);
  assert.deepEqual(await h.runtime.listContainers(), []);
  assert.deepEqual(await h.runtime.listPodSandboxes(), []);
  assert.deepEqual(h.deleted, ['default/web/uid-web']);
});

test('housekeeping removes what runs for pods that are gone, and keeps the rest', async () => {
  const h = harness();
  const a = podOf({}, 'a');
  const b = podOf({}, 'b');
  await h.sync(a);
  await h.sync(b);
  await h.syncer.housekeeping(new Set(['uid-a']));
  assert.deepEqual(
    (await h.runtime.listContainers()).map((c) => c.pod.name),
    ['a'],
  );
  assert.deepEqual(
    (await h.runtime.listPodSandboxes()).map((s) => s.pod.name),
    ['a'],
  );
});

test('a restarted agent adopts running containers without starting any', async () => {
  const h = harness();
  const pod = podOf({});
  await h.sync(pod);
  const before = (await h.runtime.listContainers()).map((c) => c.id);
  // A new syncer over the same runtime: what a restarted agent is.
  const again = new PodSyncer({
    nodeName: 'n1',
    nodeIP: '192.0.2.10',
    runtime: h.runtime,
    api: {
      patchStatus: async () => assert.fail('the status is already right'),
      deletePod: async () => assert.fail('nothing to delete'),
    },
    objects: { configMap: async () => undefined, secret: async () => undefined },
  });
  await again.sync(pod);
  assert.deepEqual(
    (await h.runtime.listContainers()).map((c) => c.id),
    before,
  );
});

test("the QoS class follows the containers' requests and limits", async () => {
  const { qosClass } = await import('./pod-status.js');
  const withRes = (resources: Record<string, unknown>) =>
    podOf({ containers: [{ name: 'c', image: 'b', resources }] });
  assert.equal(qosClass(podOf({})), 'BestEffort');
  assert.equal(qosClass(withRes({ limits: { cpu: '1', memory: '1Gi' } })), 'Guaranteed');
  assert.equal(qosClass(withRes({ requests: { cpu: '1' } })), 'Burstable');
  assert.equal(
    qosClass(withRes({ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '1Gi' } })),
    'Burstable',
  );
});

test('volumes come first: while one cannot be set up the pod waits in ContainerCreating naming it', async () => {
  const calls: string[] = [];
  let ready = false;
  const given: Mount[] = [{ hostPath: '/pods/u/volumes/v', containerPath: '/v', readOnly: true }];
  const volumes: PodVolumes = {
    async setUp(pod) {
      calls.push(`setUp ${pod.metadata.name}`);
      if (!ready)
        throw new VolumeError('MountVolume.SetUp failed for volume "v" : configmap "cfg" not found');
    },
    async mounts(_pod, c) {
      calls.push(`mounts ${c.name}`);
      return given;
    },
    async tearDown(uid) {
      calls.push(`tearDown ${uid}`);
    },
    async housekeeping() {},
  };
  const h = harness({ volumes });
  const pod = podOf({});
  const r = await h.sync(pod);
  assert.equal(r.retryAfterMs, 1000);
  assert.deepEqual(await h.runtime.listPodSandboxes(), [], 'no sandbox before the volumes');
  assert.deepEqual(statusOf(pod).containerStatuses[0].state.waiting, {
    reason: 'ContainerCreating',
    message: 'MountVolume.SetUp failed for volume "v" : configmap "cfg" not found',
  });
  assert.equal((await h.sync(pod)).retryAfterMs, 2000, 'retried with back-off');
  ready = true;
  await h.sync(pod);
  assert.equal(statusOf(pod).phase, 'Running');
  assert.equal(statusOf(pod).containerStatuses[0].state.waiting, undefined);
  assert.deepEqual(calls.slice(-2), ['setUp web', 'mounts c']);
  pod.metadata.deletionTimestamp = new Date().toISOString();
  await h.sync(pod);
  assert.equal(calls.at(-1), 'tearDown uid-web');
});

test('an ephemeral container starts once in the pod, joins its target, and is reported apart', async () => {
  const h = harness();
  const pod = podOf({});
  await h.sync(pod);
  const configs: { name: string; targetContainerId?: string }[] = [];
  const create = h.runtime.createContainer.bind(h.runtime);
  h.runtime.createContainer = async (sb, cfg) => {
    configs.push(cfg);
    return create(sb, cfg);
  };
  pod.spec.ephemeralContainers = [
    { name: 'debugger', image: 'busybox', targetContainerName: 'c', stdin: true, tty: true },
  ];
  await h.sync(pod);
  const main = (await h.runtime.listContainers()).find((c) => c.name === 'c')!;
  assert.equal(configs.length, 1);
  assert.equal(configs[0]!.name, 'debugger');
  assert.equal(configs[0]!.targetContainerId, main.id, 'it shares the target container PID namespace');
  const s = statusOf(pod);
  assert.equal(s.containerStatuses.length, 1);
  assert.equal(s.ephemeralContainerStatuses[0].name, 'debugger');
  assert.ok(s.ephemeralContainerStatuses[0].state.running);
  // It exits: never restarted, and the pod stays Running and Ready.
  const debug = (await h.runtime.listContainers()).find((c) => c.name === 'debugger')!;
  h.runtime.exit(debug.id, 0);
  await h.sync(pod);
  assert.equal(configs.length, 1);
  assert.equal(statusOf(pod).ephemeralContainerStatuses[0].state.terminated.reason, 'Completed');
  assert.equal(statusOf(pod).phase, 'Running');
  assert.equal(statusOf(pod).conditions.find((c: { type: string }) => c.type === 'Ready').status, 'True');
});

test('an ephemeral container whose target is not running waits with CreateContainerConfigError', async () => {
  const h = harness();
  const pod = podOf({ restartPolicy: 'Never' });
  await h.sync(pod);
  const c = (await h.runtime.listContainers()).find((x) => x.name === 'c')!;
  h.runtime.exit(c.id, 0);
  pod.spec.ephemeralContainers = [{ name: 'debugger', image: 'busybox', targetContainerName: 'c' }];
  await h.sync(pod);
  const st = statusOf(pod).ephemeralContainerStatuses[0].state.waiting;
  assert.equal(st.reason, 'CreateContainerConfigError');
  assert.match(st.message, /target container "c" of container "debugger" is not running/);
});

test('a pod marked for eviction is killed and reported Failed, reason Evicted, with a DisruptionTarget', async () => {
  const h = harness();
  const pod = podOf({});
  await h.sync(pod);
  h.syncer.markEvicted('uid-web', 'The node was low on resource: memory. ');
  await h.sync(pod);
  const s = statusOf(pod);
  assert.equal(s.phase, 'Failed');
  assert.equal(s.reason, 'Evicted');
  assert.equal(s.message, 'The node was low on resource: memory. ');
  const dt = s.conditions.find((c: { type: string }) => c.type === 'DisruptionTarget');
  assert.equal(dt.status, 'True');
  assert.equal(dt.reason, 'TerminationByKubelet');
  assert.ok((await h.runtime.listContainers()).every((c) => c.state === 'exited'));
  // A sync of a copy from before the eviction (the cache not updated yet) starts nothing again.
  const stale = podOf({});
  stale.status = { phase: 'Running' };
  await h.syncer.sync(stale);
  assert.equal((await h.runtime.listContainers()).length, 1);
  assert.ok((await h.runtime.listContainers()).every((c) => c.state === 'exited'));
  // Failed for good: the next sync restarts nothing.
  await h.sync(pod);
  assert.equal((await h.runtime.listContainers()).length, 1);
  assert.equal(statusOf(pod).phase, 'Failed');
});

test('a pod new to a node under pressure is refused: Failed, reason Evicted; a running one is not', async () => {
  let pressure: string | undefined;
  const h = harness({ admit: () => pressure });
  const running = podOf({}, 'running');
  await h.sync(running);
  pressure = 'The node had condition: [DiskPressure]. ';
  const fresh = podOf({}, 'fresh');
  await h.sync(fresh);
  assert.equal(statusOf(fresh).phase, 'Failed');
  assert.equal(statusOf(fresh).reason, 'Evicted');
  assert.equal(statusOf(fresh).message, 'Pod was rejected: The node had condition: [DiskPressure]. ');
  assert.equal((await h.runtime.listContainers({ podUid: 'uid-fresh' })).length, 0);
  await h.sync(running);
  assert.equal(statusOf(running).phase, 'Running');
});

test('the echo of its own status write is known as such; a status someone else changed, or a forgotten pod, is not', async () => {
  const h = harness();
  const pod = podOf({});
  assert.equal(h.syncer.reportedAs(pod), false, 'nothing reported yet');
  await h.sync(pod);
  const echo = structuredClone(pod);
  assert.equal(h.syncer.reportedAs(echo), true);
  const other = structuredClone(pod);
  statusOf(other).phase = 'Failed';
  assert.equal(h.syncer.reportedAs(other), false);
  h.syncer.forget(pod.metadata.uid ?? '');
  assert.equal(h.syncer.reportedAs(echo), false);
});

test("the echo of a status that waits for a back-off, or of a finished pod's, is synced", async () => {
  const h = harness({ images: ['busybox'] });
  const pulling = podOf({ containers: [{ name: 'c', image: 'nothere:1' }] });
  await h.sync(pulling);
  assert.equal(statusOf(pulling).containerStatuses[0].state.waiting.reason, 'ErrImagePull');
  assert.equal(h.syncer.reportedAs(pulling), false, 'its next sync says ImagePullBackOff');
  const done = podOf({ restartPolicy: 'Never' }, 'done');
  await h.sync(done);
  const c = (await h.runtime.listContainers({ podUid: 'uid-done' }))[0]!;
  h.runtime.exit(c.id, 0);
  await h.sync(done);
  assert.equal(statusOf(done).phase, 'Succeeded');
  assert.equal(h.syncer.reportedAs(done), false, 'its next sync stops its sandbox');
});
