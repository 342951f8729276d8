import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resourceAttributes } from './attributes.js';
import { graphWrite, nodeAuthorizer } from './node-authorizer.js';
import { NodeGraph } from './node-graph.js';

const node = (name: string) => ({
  name: `system:node:${name}`,
  groups: ['system:nodes', 'system:authenticated'],
});
const pods = { group: '', plural: 'pods' };
const claims = { group: '', plural: 'persistentvolumeclaims' };

function podOn(nodeName: string | undefined, name = 'web') {
  return {
    metadata: { name, namespace: 'ns' },
    spec: {
      ...(nodeName ? { nodeName } : {}),
      serviceAccountName: 'runner',
      imagePullSecrets: [{ name: 'pull' }],
      volumes: [
        { name: 'a', configMap: { name: 'cfg' } },
        { name: 'b', secret: { secretName: 'sec' } },
        { name: 'c', persistentVolumeClaim: { claimName: 'data' } },
        { name: 'd', projected: { sources: [{ configMap: { name: 'kube-root-ca.crt' } }] } },
      ],
      containers: [
        { name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'env-sec', key: 'k' } } }] },
      ],
    },
  };
}

test("a node may get only its pods' objects and create tokens only for their ServiceAccounts", () => {
  const graph = new NodeGraph();
  const authz = nodeAuthorizer(graph);
  const can = (n: string, verb: string, resource: string, name: string, subresource = '') =>
    authz.authorize(
      resourceAttributes(node(n), verb, {
        resource,
        namespace: resource === 'persistentvolumes' ? '' : 'ns',
        name,
        subresource,
      }),
    ).decision;

  graphWrite(graph, pods, podOn(undefined), undefined);
  assert.equal(can('n1', 'get', 'configmaps', 'cfg'), 'deny', 'an unbound pod relates no node');
  graphWrite(graph, pods, podOn('n1'), podOn(undefined));
  graphWrite(
    graph,
    claims,
    { metadata: { name: 'data', namespace: 'ns' }, spec: { volumeName: 'pv-1' } },
    undefined,
  );
  for (const [r, n] of [
    ['configmaps', 'cfg'],
    ['configmaps', 'kube-root-ca.crt'],
    ['secrets', 'sec'],
    ['secrets', 'pull'],
    ['secrets', 'env-sec'],
    ['persistentvolumeclaims', 'data'],
    ['persistentvolumes', 'pv-1'],
  ])
    assert.equal(can('n1', 'get', r!, n!), 'allow', `${r}/${n}`);
  assert.equal(can('n1', 'create', 'serviceaccounts', 'runner', 'token'), 'allow');
  assert.equal(can('n1', 'create', 'serviceaccounts', 'default', 'token'), 'deny');
  assert.equal(can('n2', 'get', 'secrets', 'sec'), 'deny', 'another node');
  assert.equal(can('n1', 'get', 'secrets', 'other'), 'deny');
  assert.equal(can('n1', 'list', 'secrets', ''), 'deny');
  assert.equal(can('n1', 'get', 'pods', 'web'), 'noOpinion', 'left to RBAC');
  assert.equal(
    authz.authorize(
      resourceAttributes({ name: 'alice', groups: [] }, 'get', {
        resource: 'secrets',
        namespace: 'ns',
        name: 'x',
      }),
    ).decision,
    'noOpinion',
    'not a node',
  );
  // The pod goes: so does what it related.
  graphWrite(graph, pods, undefined, podOn('n1'));
  assert.equal(can('n1', 'get', 'secrets', 'sec'), 'deny');
  assert.equal(can('n1', 'get', 'persistentvolumes', 'pv-1'), 'deny');
});

test('two pods on a node sharing an object keep it readable until both are gone', () => {
  const graph = new NodeGraph();
  graph.setPod('ns/a', podOn('n1', 'a'));
  graph.setPod('ns/b', podOn('n1', 'b'));
  graph.setPod('ns/a', undefined);
  assert.equal(graph.related('n1', 'configmaps', 'ns', 'cfg'), true);
  graph.retain('pods', new Set());
  assert.equal(graph.related('n1', 'configmaps', 'ns', 'cfg'), false);
});

test("the server's own writes are marked with their revision, so the watch skips them", () => {
  const graph = new NodeGraph();
  graphWrite(
    graph,
    pods,
    { ...podOn('n1'), metadata: { name: 'web', namespace: 'ns', resourceVersion: '7' } },
    undefined,
  );
  assert.equal(graph.seen('pods/ns/web', 7), true);
  assert.equal(graph.seen('pods/ns/web', 5), true, 'an older event changes nothing');
  assert.equal(graph.seen('pods/ns/web', 8), false);
  graphWrite(graph, pods, undefined, podOn('n1'));
  assert.equal(graph.seen('pods/ns/web', 7), false, 'forgotten once deleted');
});
