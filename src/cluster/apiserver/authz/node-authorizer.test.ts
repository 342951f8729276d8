// The Node authorizer over a graph fed with pods and claims: what a node may reach and why not.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resourceAttributes } from './attributes.js';
import { graphWrite, NodeAuthorizer } from './node-authorizer.js';
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
  const authz = new NodeAuthorizer(graph);
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
  assert.equal(can('n1', 'get', 'configmaps', 'cfg'), 'noOpinion', 'an unbound pod relates no node');
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
  assert.equal(can('n1', 'create', 'serviceaccounts', 'default', 'token'), 'noOpinion');
  assert.equal(can('n2', 'get', 'secrets', 'sec'), 'noOpinion', 'another node');
  assert.equal(can('n1', 'get', 'secrets', 'other'), 'noOpinion');
  assert.equal(can('n1', 'list', 'secrets', ''), 'noOpinion');
  assert.equal(can('n1', 'get', 'pods', 'web'), 'allow', 'its own pod');
  assert.equal(can('n2', 'get', 'pods', 'web'), 'noOpinion', "another node's pod");
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
  assert.equal(can('n1', 'get', 'secrets', 'sec'), 'noOpinion');
  assert.equal(can('n1', 'get', 'persistentvolumes', 'pv-1'), 'noOpinion');
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

const n1 = { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };

function setup() {
  const g = new NodeGraph();
  g.setPod(
    'default/p1',
    {
      metadata: { name: 'p1', namespace: 'default' },
      spec: {
        nodeName: 'n1',
        serviceAccountName: 'app',
        volumes: [
          { name: 'a', secret: { secretName: 'vol-secret' } },
          { name: 'b', projected: { sources: [{ configMap: { name: 'proj-cm' } }] } },
          { name: 'c', persistentVolumeClaim: { claimName: 'data' } },
        ],
        containers: [{ name: 'c', envFrom: [{ secretRef: { name: 'env-secret' } }] }],
      },
    },
    1,
  );
  g.setClaim('default/data', { metadata: { name: 'data' }, spec: { volumeName: 'pv1' } }, 2);
  g.setPod(
    'default/p2',
    {
      metadata: { name: 'p2' },
      spec: { nodeName: 'n2', volumes: [{ name: 'a', secret: { secretName: 'other' } }] },
    },
    3,
  );
  return { g, authz: new NodeAuthorizer(g) };
}

const can = (
  authz: NodeAuthorizer,
  verb: string,
  a: Parameters<typeof resourceAttributes>[2],
  fieldSelector?: string,
) => {
  const attrs = resourceAttributes(n1, verb, a);
  if (fieldSelector) attrs.fieldSelector = fieldSelector;
  return authz.authorize(attrs);
};

describe('Node authorizer', () => {
  test('a node gets the Secrets, ConfigMaps, claims, volumes and token its pods use, and nothing else', () => {
    const { authz } = setup();
    const ns = 'default';
    for (const [resource, name] of [
      ['secrets', 'vol-secret'],
      ['secrets', 'env-secret'],
      ['configmaps', 'proj-cm'],
      ['persistentvolumeclaims', 'data'],
      ['persistentvolumes', 'pv1'],
    ] as const)
      assert.equal(
        can(authz, 'get', { resource, name, namespace: resource === 'persistentvolumes' ? '' : ns }).decision,
        'allow',
        `${resource}/${name}`,
      );
    assert.equal(
      can(authz, 'create', { resource: 'serviceaccounts', subresource: 'token', name: 'app', namespace: ns })
        .decision,
      'allow',
    );
    const other = can(authz, 'get', { resource: 'secrets', name: 'other', namespace: ns });
    assert.equal(other.decision, 'noOpinion');
    assert.equal(other.reason, "no relationship found between node 'n1' and this object");
    assert.equal(can(authz, 'list', { resource: 'secrets', namespace: ns }).reason, 'No Object name found');
    // One by one (`metadata.name`), as the kubelet's watching managers read them.
    for (const verb of ['list', 'watch'])
      assert.equal(
        can(authz, verb, { resource: 'secrets', name: 'vol-secret', namespace: ns }).decision,
        'allow',
      );
    assert.equal(
      can(authz, 'watch', { resource: 'configmaps', name: 'other', namespace: ns }).decision,
      'noOpinion',
    );
    assert.match(
      can(authz, 'list', { resource: 'persistentvolumeclaims', name: 'data', namespace: ns }).reason,
      /can only get individual resources/,
    );
    // Services, as its pods' environment; Endpoints by name only.
    assert.equal(can(authz, 'list', { resource: 'services' }).decision, 'allow');
    assert.equal(
      can(authz, 'get', { resource: 'endpoints', name: 'kubernetes', namespace: ns }).decision,
      'allow',
    );
    assert.equal(can(authz, 'list', { resource: 'endpoints' }).decision, 'noOpinion');
    assert.equal(
      can(authz, 'create', {
        resource: 'serviceaccounts',
        subresource: 'token',
        name: 'default',
        namespace: ns,
      }).decision,
      'noOpinion',
    );
  });

  test("a node may list and watch TLS Secrets (its Ingress controller's), and no other kind", () => {
    const { authz } = setup();
    for (const verb of ['list', 'watch'])
      assert.equal(can(authz, verb, { resource: 'secrets' }, 'type=kubernetes.io/tls').decision, 'allow');
    assert.equal(can(authz, 'list', { resource: 'secrets' }, 'type=Opaque').decision, 'noOpinion');
    assert.equal(
      can(authz, 'list', { resource: 'configmaps' }, 'type=kubernetes.io/tls').decision,
      'noOpinion',
    );
    assert.equal(
      can(authz, 'delete', { resource: 'secrets', name: 'x' }, 'type=kubernetes.io/tls').decision,
      'noOpinion',
    );
  });

  test('a node reaches its own pods only, lists them by spec.nodeName, and may not evict', () => {
    const { authz, g } = setup();
    const pod = (name: string) => ({ resource: 'pods', name, namespace: 'default' });
    assert.equal(can(authz, 'get', pod('p1')).decision, 'allow');
    assert.equal(can(authz, 'delete', pod('p1')).decision, 'allow');
    assert.equal(can(authz, 'patch', { ...pod('p1'), subresource: 'status' }).decision, 'allow');
    assert.equal(can(authz, 'get', pod('p2')).decision, 'noOpinion');
    // Deletes by name pass here; NodeRestriction judges the stored pod (its own only).
    assert.equal(can(authz, 'delete', pod('p2')).decision, 'allow');
    assert.equal(can(authz, 'create', { ...pod('p1'), subresource: 'eviction' }).decision, 'noOpinion');
    assert.equal(can(authz, 'list', { resource: 'pods' }, 'spec.nodeName=n1').decision, 'allow');
    assert.equal(can(authz, 'watch', { resource: 'pods' }, 'spec.nodeName=n2').decision, 'noOpinion');
    assert.equal(can(authz, 'watch', pod('p1')).decision, 'allow', 'its own pod by metadata.name');
    assert.equal(can(authz, 'watch', pod('p2')).decision, 'noOpinion');
    // A pod deleted (or moved) takes its edges with it.
    g.setPod('default/p1', undefined);
    assert.equal(
      can(authz, 'get', { resource: 'secrets', name: 'vol-secret', namespace: 'default' }).decision,
      'noOpinion',
    );
    assert.equal(can(authz, 'get', pod('p1')).decision, 'noOpinion');
  });

  test('its own Node and Lease; other users get no opinion', () => {
    const { authz } = setup();
    assert.equal(can(authz, 'get', { resource: 'nodes', name: 'n1' }).decision, 'allow');
    assert.match(
      can(authz, 'get', { resource: 'nodes', name: 'n2' }).reason,
      /cannot read 'n2', only its own Node object/,
    );
    assert.equal(
      can(authz, 'update', {
        apiGroup: 'coordination.k8s.io',
        resource: 'leases',
        namespace: 'kube-node-lease',
        name: 'n1',
      }).decision,
      'allow',
    );
    assert.equal(
      can(authz, 'update', {
        apiGroup: 'coordination.k8s.io',
        resource: 'leases',
        namespace: 'kube-node-lease',
        name: 'n2',
      }).decision,
      'noOpinion',
    );
    const alice = resourceAttributes({ name: 'alice', groups: [] }, 'get', {
      resource: 'secrets',
      name: 'vol-secret',
      namespace: 'default',
    });
    assert.deepEqual(authz.authorize(alice), { decision: 'noOpinion', reason: '' });
  });
});

test("a node may get the Secrets named by the volumes its pods' claims are bound to, and no others", () => {
  const graph = new NodeGraph();
  const authz = new NodeAuthorizer(graph);
  const getSecret = (n: string, namespace: string, name: string) =>
    authz.authorize(resourceAttributes(node(n), 'get', { resource: 'secrets', namespace, name })).decision;
  const volumes = { group: '', plural: 'persistentvolumes' };
  const pv = {
    metadata: { name: 'pv-1', resourceVersion: '3' },
    spec: {
      claimRef: { namespace: 'ns', name: 'data' },
      csi: {
        driver: 'x',
        volumeHandle: 'h',
        nodePublishSecretRef: { name: 'publish', namespace: 'storage' },
        nodeStageSecretRef: { name: 'stage', namespace: 'storage' },
      },
      iscsi: { targetPortal: 'p', iqn: 'q', lun: 0, secretRef: { name: 'chap' } },
    },
  };
  graphWrite(graph, volumes, pv, undefined);
  assert.equal(getSecret('n1', 'storage', 'publish'), 'noOpinion', 'no pod uses the volume yet');
  graphWrite(graph, pods, podOn('n1'), undefined);
  assert.equal(getSecret('n1', 'storage', 'publish'), 'noOpinion', 'the claim is not bound yet');
  graphWrite(
    graph,
    claims,
    { metadata: { name: 'data', namespace: 'ns' }, spec: { volumeName: 'pv-1' } },
    undefined,
  );
  assert.equal(getSecret('n1', 'storage', 'publish'), 'allow');
  assert.equal(getSecret('n1', 'storage', 'stage'), 'allow');
  assert.equal(getSecret('n1', 'ns', 'chap'), 'allow', "a reference without namespace is the claim's");
  assert.equal(getSecret('n1', 'storage', 'other'), 'noOpinion');
  assert.equal(getSecret('n2', 'storage', 'publish'), 'noOpinion', 'another node');
  assert.equal(graph.seen('volumes/pv-1', 3), true, 'the watch skips what the write hook applied');
  graphWrite(graph, volumes, { ...pv, spec: { claimRef: pv.spec.claimRef } }, pv);
  assert.equal(getSecret('n1', 'storage', 'publish'), 'noOpinion', 'the volume no longer names it');
  graphWrite(graph, volumes, pv, undefined);
  graph.retain('volumes', new Set());
  assert.equal(getSecret('n1', 'storage', 'publish'), 'noOpinion', 'deleted while no watch ran');
});
