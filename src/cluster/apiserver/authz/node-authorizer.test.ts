// The Node authorizer over a graph fed with pods and claims: what a node may reach and why not.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resourceAttributes } from './attributes.js';
import { NodeAuthorizer } from './node-authorizer.js';
import { NodeGraph } from './node-graph.js';

const n1 = { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };

function setup() {
  const g = new NodeGraph();
  g.apply(
    'pods',
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
  g.apply(
    'persistentvolumeclaims',
    'default/data',
    { metadata: { name: 'data' }, spec: { volumeName: 'pv1' } },
    2,
  );
  g.apply(
    'pods',
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
    assert.match(
      can(authz, 'list', { resource: 'secrets', namespace: ns }).reason,
      /can only get individual resources/,
    );
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

  test('a node reaches its own pods only, lists them by spec.nodeName, and may not evict', () => {
    const { authz, g } = setup();
    const pod = (name: string) => ({ resource: 'pods', name, namespace: 'default' });
    assert.equal(can(authz, 'get', pod('p1')).decision, 'allow');
    assert.equal(can(authz, 'delete', pod('p1')).decision, 'allow');
    assert.equal(can(authz, 'patch', { ...pod('p1'), subresource: 'status' }).decision, 'allow');
    assert.equal(can(authz, 'get', pod('p2')).decision, 'noOpinion');
    assert.equal(can(authz, 'create', { ...pod('p1'), subresource: 'eviction' }).decision, 'noOpinion');
    assert.equal(can(authz, 'list', { resource: 'pods' }, 'spec.nodeName=n1').decision, 'allow');
    assert.equal(can(authz, 'watch', { resource: 'pods' }, 'spec.nodeName=n2').decision, 'noOpinion');
    // A pod deleted (or moved) takes its edges with it.
    g.apply('pods', 'default/p1', undefined, 10);
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
