import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../client/kube-client.js';
import { formatMap, type VolumeSources, volumePayload } from './payload.js';

const pod: KubeObject = {
  metadata: { name: 'web', namespace: 'ns1', uid: 'u1', labels: { b: '2', a: 'x"y' }, annotations: {} },
  spec: {
    serviceAccountName: 'sa',
    containers: [{ name: 'c', resources: { limits: { memory: '64Mi' }, requests: { cpu: '250m' } } }],
  },
};

const sources: VolumeSources = {
  async configMap(_ns, name) {
    return name === 'cfg'
      ? ({
          metadata: { name },
          data: { one: '1', two: '2' },
          binaryData: { bin: Buffer.from([0, 1]).toString('base64') },
        } as KubeObject)
      : undefined;
  },
  async secret(_ns, name) {
    return name === 'sec'
      ? ({ metadata: { name }, data: { pw: Buffer.from('hunter2').toString('base64') } } as KubeObject)
      : undefined;
  },
  async token(p, audience, seconds) {
    return `token-for-${p.metadata.name}-${audience ?? 'api'}-${seconds}`;
  },
};
const ctx = { nodeIP: '192.0.2.1', podIP: '', allocatable: () => ({ cpu: '2', memory: '1Gi' }) };
const text = (p: Map<string, { data: Buffer; mode: number }> | undefined) =>
  Object.fromEntries([...(p ?? [])].map(([k, v]) => [k, `${v.data.toString('utf8')} ${v.mode.toString(8)}`]));

test('configMap: every key by default, items pick and rename with their own mode', async () => {
  const all = await volumePayload(
    pod,
    { name: 'v', configMap: { name: 'cfg', defaultMode: 0o600 } },
    sources,
    ctx,
  );
  assert.deepEqual([...all!.keys()].sort(), ['bin', 'one', 'two']);
  assert.equal(all!.get('one')!.mode, 0o600);
  assert.deepEqual(all!.get('bin')!.data, Buffer.from([0, 1]));
  const some = await volumePayload(
    pod,
    { name: 'v', configMap: { name: 'cfg', items: [{ key: 'two', path: 'dir/2.txt', mode: 0o400 }] } },
    sources,
    ctx,
  );
  assert.deepEqual(text(some), { 'dir/2.txt': '2 400' });
});

test('a missing object or key is an error naming it, unless optional', async () => {
  await assert.rejects(
    volumePayload(pod, { name: 'v', configMap: { name: 'nope' } }, sources, ctx),
    /configmap "nope" not found/,
  );
  await assert.rejects(
    volumePayload(pod, { name: 'v', secret: { secretName: 'gone' } }, sources, ctx),
    /secret "gone" not found/,
  );
  await assert.rejects(
    volumePayload(
      pod,
      { name: 'v', configMap: { name: 'cfg', items: [{ key: 'x', path: 'x' }] } },
      sources,
      ctx,
    ),
    /non-existent config key: x/,
  );
  assert.equal(
    (await volumePayload(pod, { name: 'v', configMap: { name: 'nope', optional: true } }, sources, ctx))!
      .size,
    0,
  );
});

test('secret data is decoded', async () => {
  assert.deepEqual(
    text(
      await volumePayload(
        pod,
        { name: 'v', secret: { secretName: 'sec', defaultMode: 0o400 } },
        sources,
        ctx,
      ),
    ),
    {
      pw: 'hunter2 400',
    },
  );
});

test('downwardAPI: fields, label maps and resources with divisors', async () => {
  const p = await volumePayload(
    pod,
    {
      name: 'v',
      downwardAPI: {
        items: [
          { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
          { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
          { path: 'a', fieldRef: { fieldPath: "metadata.labels['a']" } },
          {
            path: 'mem',
            resourceFieldRef: { containerName: 'c', resource: 'limits.memory', divisor: '1Mi' },
          },
          { path: 'cpu', resourceFieldRef: { containerName: 'c', resource: 'requests.cpu', divisor: '1m' } },
          { path: 'cpulimit', resourceFieldRef: { containerName: 'c', resource: 'limits.cpu' } },
        ],
      },
    },
    sources,
    ctx,
  );
  assert.deepEqual(text(p), {
    name: 'web 644',
    labels: 'a="x\\"y"\nb="2" 644',
    a: 'x"y 644',
    mem: '64 644',
    cpu: '250 644',
    cpulimit: '2 644',
  });
  assert.equal(formatMap({}), '');
});

test('projected: all sources in one folder, the token asked for the pod', async () => {
  const p = await volumePayload(
    pod,
    {
      name: 'kube-api-access-x',
      projected: {
        defaultMode: 0o644,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'cfg', items: [{ key: 'one', path: 'ca.crt' }] } },
          { secret: { name: 'sec' } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    },
    sources,
    ctx,
  );
  assert.deepEqual(text(p), {
    token: 'token-for-web-api-3607 644',
    'ca.crt': '1 644',
    pw: 'hunter2 644',
    namespace: 'ns1 644',
  });
});
