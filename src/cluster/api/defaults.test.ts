import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyDefaults } from './defaults.js';
import { ResourceRegistry } from './resources.js';

const reg = new ResourceRegistry();
const deploy = reg.get('apps', 'v1', 'deployments');

test('defaults fill what Kubernetes fills', () => {
  assert.ok(deploy);
  const d: Record<string, unknown> = {
    metadata: { name: 'd' },
    spec: { selector: {}, template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
  };
  applyDefaults(deploy, d);
  const spec = d.spec as {
    replicas: number;
    template: { spec: { restartPolicy: string; containers: { imagePullPolicy: string }[] } };
  };
  assert.equal(spec.replicas, 1);
  assert.equal(spec.template.spec.restartPolicy, 'Always');
  assert.equal(spec.template.spec.containers[0]?.imagePullPolicy, 'Always');
});

test('an empty strategy (kubectl create deployment sends one) is defaulted to a rolling update', () => {
  assert.ok(deploy);
  const d: Record<string, unknown> = {
    metadata: { name: 'd' },
    spec: { strategy: {}, selector: {}, template: { spec: { containers: [] } } },
  };
  applyDefaults(deploy, d);
  assert.deepEqual((d.spec as { strategy: unknown }).strategy, {
    type: 'RollingUpdate',
    rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
  });
  const r: Record<string, unknown> = {
    metadata: { name: 'd' },
    spec: { strategy: { type: 'Recreate' }, selector: {}, template: { spec: { containers: [] } } },
  };
  applyDefaults(deploy, r);
  assert.deepEqual((r.spec as { strategy: unknown }).strategy, { type: 'Recreate' });
});

test('a Secret stringData is merged into data, base64, over equal keys, and not stored', () => {
  const secrets = reg.get('', 'v1', 'secrets')!;
  const s: Record<string, unknown> = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's' },
    data: { a: Buffer.from('old').toString('base64'), b: 'Yg==' },
    stringData: { a: 'new' },
  };
  applyDefaults(secrets, s);
  assert.deepEqual(s.data, { a: Buffer.from('new').toString('base64'), b: 'Yg==' });
  assert.equal(s.stringData, undefined);
  assert.equal(s.type, 'Opaque');
});
