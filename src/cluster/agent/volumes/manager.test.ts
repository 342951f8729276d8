import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../../../test/helpers/temp-dir.js';
import type { KubeObject } from '../../client/kube-client.js';
import { VolumeManager } from './manager.js';

const base = tempDir('volume-manager-');

function manager(data: Record<string, string>, events: string[] = []) {
  return new VolumeManager({
    podsDir: join(base, 'pods'),
    secretsDir: join(base, 'pod-secrets'),
    nodeName: 'n1',
    nodeIP: '192.0.2.1',
    allocatable: () => ({ cpu: '2', memory: '1Gi' }),
    sources: {
      async configMap(_ns, name) {
        return name === 'cfg' ? ({ metadata: { name }, data } as KubeObject) : undefined;
      },
      async secret() {
        return undefined;
      },
      async token() {
        return 't';
      },
      async claim() {
        return undefined;
      },
      async persistentVolume() {
        return undefined;
      },
      async warn(p, reason, message) {
        events.push(`${p.metadata.name} ${reason} ${message}`);
      },
    },
  });
}

const pod = (uid: string, volumes: unknown[]): KubeObject => ({
  metadata: { name: `p-${uid}`, namespace: 'ns', uid },
  spec: { volumes, containers: [] },
});

test('a pod gets its volumes and mounts, keeps them through housekeeping, and loses them at teardown', async () => {
  mkdirSync(join(base, 'host'));
  const m = manager({ k: 'v' });
  const p = pod('u1', [
    { name: 'scratch', emptyDir: {} },
    { name: 'cfg', configMap: { name: 'cfg' } },
    { name: 'host', hostPath: { path: join(base, 'host'), type: 'Directory' } },
  ]);
  await m.setUp(p);
  const c = {
    name: 'c',
    volumeMounts: [
      { name: 'scratch', mountPath: '/s' },
      { name: 'cfg', mountPath: '/c' },
      { name: 'host', mountPath: '/h', readOnly: true },
    ],
  };
  const mounts = await m.mounts(p, c, []);
  assert.deepEqual(
    mounts.map((x) => [x.hostPath.replace(base, ''), x.containerPath, x.readOnly]),
    [
      ['/pods/u1/volumes/kubernetes.io~empty-dir/scratch', '/s', false],
      ['/pods/u1/volumes/kubernetes.io~configmap/cfg', '/c', true],
      ['/host', '/h', true],
    ],
  );
  assert.equal(readFileSync(join(mounts[1]!.hostPath, 'k'), 'utf8'), 'v');
  await assert.rejects(
    m.mounts(p, { name: 'c', volumeMounts: [{ name: 'nope', mountPath: '/n' }] }, []),
    /names no volume/,
  );
  await assert.rejects(
    m.mounts(
      p,
      { name: 'c', volumeMounts: [{ name: 'cfg', mountPath: '/n', mountPropagation: 'Bidirectional' }] },
      [],
    ),
    /Bidirectional mount propagation is available only to privileged containers/,
  );

  // Known to this agent: housekeeping with a set that predates the pod keeps it.
  await m.housekeeping(new Set());
  assert.ok(existsSync(join(base, 'pods/u1')));
  // Left by an agent before this one, for a pod that is gone: removed.
  mkdirSync(join(base, 'pods/u0/volumes'), { recursive: true });
  await m.housekeeping(new Set(['u1']));
  assert.equal(existsSync(join(base, 'pods/u0')), false);

  await m.tearDown('u1');
  assert.equal(existsSync(join(base, 'pods/u1')), false);
});

test('a missing ConfigMap or a wrong hostPath is a VolumeError naming the volume and the reason', async () => {
  const events: string[] = [];
  const m = manager({}, events);
  for (let i = 0; i < 2; i++)
    await assert.rejects(
      m.setUp(pod('u2', [{ name: 'v', configMap: { name: 'other' } }])),
      /MountVolume.SetUp failed for volume "v" : configmap "other" not found/,
    );
  assert.deepEqual(
    events,
    ['p-u2 FailedMount MountVolume.SetUp failed for volume "v" : configmap "other" not found'],
    'one event for the same failure',
  );
  await assert.rejects(
    m.setUp(pod('u3', [{ name: 'h', hostPath: { path: '/dev/null', type: 'Directory' } }])),
    /volume "h" : hostPath type check failed: \/dev\/null is not a directory/,
  );
  await assert.rejects(
    m.setUp(pod('u4', [{ name: 'n', nfs: { server: 'x', path: '/' } }])),
    /not supported by this node/,
  );
});
