// Deletion semantics end to end: foreground deletion at every level, owners of any kind
// (a custom resource) and no new content (events included) in a terminating namespace.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCluster, startSim, type TestCluster, until } from './helpers/cluster.js';

describe('deletion semantics', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster(undefined, { controllers: '*' });
    await startSim(c, ['--count', '1']);
  });
  after(() => c.box.cleanup());
  const k = (args: string[], input?: string) => c.ok(args, input);
  const crd = (kind: string, plural: string) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: ${plural}.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: ${plural}, singular: ${kind.toLowerCase()}, kind: ${kind}}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`;
  type Meta = { name: string; uid: string; finalizers?: string[]; deletionTimestamp?: string };
  const metas = async (kind: string, selector: string) =>
    (JSON.parse(await k(['get', kind, '-l', selector, '-o', 'json'])).items as { metadata: Meta }[]).map(
      (o) => o.metadata,
    );

  test('foreground deletion holds the Deployment and its ReplicaSet until the pods are gone', async () => {
    await k(['create', 'deployment', 'fg', '--image=nginx:1', '--replicas=2']);
    await k(['rollout', 'status', 'deploy/fg', '--timeout=60s']);
    // A finalizer of ours on one pod keeps the bottom level from finishing while we look.
    const [held] = await metas('pods', 'app=fg');
    await k([
      'patch',
      'pod',
      held!.name,
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":["example.com/hold"]}}',
    ]);
    await k(['delete', 'deploy', 'fg', '--cascade=foreground', '--wait=false']);
    await until('every level is deleting, the held pod last', async () => {
      const [d] = await metas('deploy', 'app=fg');
      const rs = await metas('rs', 'app=fg');
      const pods = await metas('pods', 'app=fg');
      return (
        Boolean(d?.deletionTimestamp && d.finalizers?.includes('foregroundDeletion')) &&
        rs.length === 1 &&
        Boolean(rs[0]?.deletionTimestamp && rs[0].finalizers?.includes('foregroundDeletion')) &&
        pods.length === 1 &&
        pods[0]?.name === held!.name
      );
    });
    await k(['patch', 'pod', held!.name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await until('the pod, then the ReplicaSet, then the Deployment go', async () => {
      const r = await c.kubectl(['get', 'deploy', 'fg']);
      return r.code !== 0 && /NotFound/.test(r.stderr) && (await metas('rs,pods', 'app=fg')).length === 0;
    });
  });

  test('deleting a custom resource deletes the Deployment it owns', async () => {
    await k(['apply', '-f', '-'], crd('Widget', 'widgets'));
    await until('the Widget kind is served', async () => (await c.kubectl(['get', 'widgets'])).code === 0);
    await k(['apply', '-f', '-'], 'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\n');
    const uid = await k(['get', 'widget', 'w1', '-o', 'jsonpath={.metadata.uid}']);
    await k(
      ['apply', '-f', '-'],
      `apiVersion: apps/v1
kind: Deployment
metadata:
  name: owned
  ownerReferences: [{apiVersion: example.com/v1, kind: Widget, name: w1, uid: ${uid}, controller: true, blockOwnerDeletion: true}]
spec:
  replicas: 1
  selector: {matchLabels: {app: owned}}
  template:
    metadata: {labels: {app: owned}}
    spec: {containers: [{name: c, image: nginx:1}]}
`,
    );
    await k(['rollout', 'status', 'deploy/owned', '--timeout=60s']);
    await k(['delete', 'widget', 'w1']);
    await until('the owned Deployment and everything under it go', async () => {
      const r = await c.kubectl(['get', 'deploy', 'owned']);
      return r.code !== 0 && (await metas('rs,pods', 'app=owned')).length === 0;
    });
    // Foreground deletion of a custom resource of a kind nothing ever named as an owner: the
    // collector watches the kind from its CRD on, so the finalizer goes and kubectl's wait ends.
    await k(['apply', '-f', '-'], crd('Gadget', 'gadgets'));
    await until('the Gadget kind is served', async () => (await c.kubectl(['get', 'gadgets'])).code === 0);
    await k(['apply', '-f', '-'], 'apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: lone}\n');
    await k(['delete', 'gadget', 'lone', '--cascade=foreground', '--timeout=30s']);
    assert.notEqual((await c.kubectl(['get', 'gadget', 'lone'])).code, 0);
  });

  test('a terminating namespace takes no new events', async () => {
    await k(['create', 'namespace', 'ending']);
    await k(['-n', 'ending', 'create', 'configmap', 'held']);
    await k([
      '-n',
      'ending',
      'patch',
      'configmap',
      'held',
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":["example.com/hold"]}}',
    ]);
    await k(['delete', 'namespace', 'ending', '--wait=false']);
    await until('the namespace is terminating', async () =>
      /Terminating/.test(await k(['get', 'namespace', 'ending', '-o', 'jsonpath={.status.phase}'])),
    );
    const r = await c.kubectl(['-n', 'ending', 'create', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'late' },
        involvedObject: { kind: 'ConfigMap', name: 'held', namespace: 'ending' },
        reason: 'Late',
        message: 'written after termination began',
      }),
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unable to create new content in namespace ending because it is being terminated/);
    await k([
      '-n',
      'ending',
      'patch',
      'configmap',
      'held',
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":null}}',
    ]);
    await until(
      'the namespace goes',
      async () => (await c.kubectl(['get', 'namespace', 'ending'])).code !== 0,
    );
  });
});
