// Namespace lifecycle end to end: a real berth server with its controllers, the real kubectl.
// A deleted namespace is Terminating, refuses new content, loses its contents (custom
// resources too), waits for objects held by finalizers, and goes when they do; the system
// namespaces cannot be deleted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCluster, type TestCluster, until } from './helpers/cluster.js';

describe('namespace lifecycle', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster(undefined, { controllers: '*' });
  });
  after(() => c.box.cleanup());
  const k = async (args: string[], input?: string) => (await c.ok(args, input)).trim();

  test('Terminating, no new content, contents deleted, finalizers waited for', async () => {
    await k(
      ['apply', '-f', '-'],
      `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`,
    );
    await k(['create', 'namespace', 'team']);
    await k(['-n', 'team', 'create', 'configmap', 'plain', '--from-literal=a=b']);
    await k(['-n', 'team', 'create', 'deployment', 'web', '--image=x', '--replicas=0']);
    await k(
      ['-n', 'team', 'apply', '-f', '-'],
      `apiVersion: v1
kind: ConfigMap
metadata: {name: held, finalizers: [example.com/hold]}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
`,
    );
    await k(['delete', 'namespace', 'team', '--wait=false']);
    assert.equal(await k(['get', 'ns', 'team', '-o', 'jsonpath={.status.phase}']), 'Terminating');
    const refused = await c.kubectl(['-n', 'team', 'create', 'configmap', 'late']);
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /unable to create new content in namespace team because it is being terminated/,
    );
    await until(
      'contents gone but the held one',
      async () =>
        (await k(['-n', 'team', 'get', 'configmaps,deployments,widgets', '-o', 'name'])) === 'configmap/held',
    );
    await until('the namespace says why it waits', async () =>
      (await k(['get', 'ns', 'team', '-o', 'jsonpath={.status.conditions[*].message}'])).includes(
        'example.com/hold in 1 resource instances',
      ),
    );
    await k([
      '-n',
      'team',
      'patch',
      'configmap',
      'held',
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":null}}',
    ]);
    await until('namespace gone', async () => (await c.kubectl(['get', 'ns', 'team'])).code !== 0);
    // The name is free again, and the new namespace is Active and empty.
    await k(['create', 'namespace', 'team']);
    assert.equal(await k(['get', 'ns', 'team', '-o', 'jsonpath={.status.phase}']), 'Active');
    assert.equal(await k(['-n', 'team', 'get', 'widgets,deployments', '-o', 'name']), '');
    await k(['delete', 'namespace', 'team']);
  });

  test('the system namespaces cannot be deleted', async () => {
    for (const ns of ['default', 'kube-system']) {
      const r = await c.kubectl(['delete', 'namespace', ns]);
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        new RegExp(`namespaces "${ns}" is forbidden: this namespace may not be deleted`),
      );
    }
    assert.equal(await k(['get', 'ns', 'default', '-o', 'jsonpath={.status.phase}']), 'Active');
  });
});
