// CustomResourceDefinitions through the REST storage and the resource registry, wired as the
// server wires them: validation as kube-apiextensions has it, and no CRD ever shadowing,
// serving or deleting a built-in resource.
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { encode, objectKey } from '../api/objects.js';
import { type ResourceInfo, ResourceRegistry } from '../api/resources.js';
import type { KubeObject } from '../api/selectors.js';
import { ApiError } from '../api/status.js';
import { memoryStore } from '../store/memory.js';
import type { Store } from '../store/store.js';
import { syncCrdResources } from './crd.js';
import { RestStorage } from './rest.js';

const crd = (
  group: string,
  plural: string,
  kind: string,
  extra: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural, kind },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }],
    ...extra,
  },
});

/** The causes of a 422 Invalid, as `field: message` lines. */
async function invalidCauses(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ApiError, String(e));
    assert.equal(e.httpCode, 422, e.message);
    assert.equal(e.reason, 'Invalid');
    return (e.statusDetails?.causes ?? []).map((c) => `${c.field}: ${c.message}`);
  }
  assert.fail('expected 422 Invalid');
}

describe('CustomResourceDefinitions', () => {
  let store: Store;
  let registry: ResourceRegistry;
  let rest: RestStorage;
  let crds: ResourceInfo;
  const builtin = (group: string, plural: string) => registry.get(group, 'v1', plural) as ResourceInfo;

  beforeEach(async () => {
    store = memoryStore();
    registry = new ResourceRegistry();
    rest = new RestStorage(store, (r, obj, old) => {
      if (r.kind === 'CustomResourceDefinition') syncCrdResources(registry, obj, old);
    });
    crds = builtin('apiextensions.k8s.io', 'customresourcedefinitions');
    await rest.ensure(builtin('', 'namespaces'), undefined, { metadata: { name: 'default' } });
  });

  test('a CRD naming deployments.apps or core secrets is refused and the built-in stays served', async () => {
    const deployments = builtin('apps', 'deployments');
    const apps = await invalidCauses(
      rest.create(crds, undefined, crd('apps', 'deployments', 'Deployment'), {}),
    );
    assert.ok(
      apps.includes('spec.group: Invalid value: "apps": should be a domain with at least one dot'),
      apps.join('\n'),
    );
    assert.ok(
      apps.some((c) => c.startsWith('spec.group: Forbidden: the API server serves the group "apps" itself')),
    );
    const secrets = await invalidCauses(rest.create(crds, undefined, crd('', 'secrets', 'Secret'), {}));
    assert.ok(secrets.includes('spec.group: Required value'), secrets.join('\n'));
    // A protected group with its approval annotation is still refused when Berth serves it.
    const ing = crd('networking.k8s.io', 'ingresses', 'Ingress');
    ing.metadata = {
      ...ing.metadata,
      annotations: { 'api-approved.kubernetes.io': 'https://example.com/1' },
    };
    const ingCauses = await invalidCauses(rest.create(crds, undefined, ing, {}));
    assert.ok(
      ingCauses.some((c) => c.startsWith('spec.group: Forbidden')),
      ingCauses.join('\n'),
    );
    assert.equal(builtin('apps', 'deployments'), deployments);
    assert.equal(builtin('networking.k8s.io', 'ingresses').custom, undefined);
    assert.equal((await rest.list(crds, undefined, {})).items.length, 0);
  });

  test('names, group, scope and versions are validated as kube-apiextensions does', async () => {
    const bad = crd('example.com', 'Widgets', 'wid get', {
      scope: 'Everywhere',
      versions: [
        { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } },
        { name: 'v1', served: true, storage: true },
      ],
    });
    bad.metadata = { name: 'widgets.example.org' };
    const causes = await invalidCauses(rest.create(crds, undefined, bad, {}));
    const fields = new Set(causes.map((c) => c.slice(0, c.indexOf(':'))));
    for (const f of [
      'metadata.name',
      'spec.scope',
      'spec.names.plural',
      'spec.names.kind',
      'spec.versions',
      'spec.versions[1].schema.openAPIV3Schema',
    ])
      assert.ok(fields.has(f), `no cause for ${f} in:\n${causes.join('\n')}`);
    assert.ok(
      causes.includes(
        'metadata.name: Invalid value: "widgets.example.org": must be spec.names.plural+"."+spec.group',
      ),
    );
    assert.ok(
      causes.includes('spec.versions: Invalid value: ["v1","v1"]: must contain unique version names'),
    );
    assert.ok(
      causes.includes(
        'spec.versions: Invalid value: ["v1","v1"]: must have exactly one version marked as storage version',
      ),
    );

    const k8s = await invalidCauses(
      rest.create(crds, undefined, crd('metrics.k8s.io', 'things', 'Thing'), {}),
    );
    assert.deepEqual(k8s, [
      'metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111',
    ]);
  });

  test('a valid CRD is served with defaulted names; group, plural, scope and kind are immutable', async () => {
    const made = await rest.create(crds, undefined, crd('example.com', 'widgets', 'Widget'), {});
    assert.deepEqual((made.spec as { names: unknown }).names, {
      plural: 'widgets',
      kind: 'Widget',
      singular: 'widget',
      listKind: 'WidgetList',
    });
    assert.equal(registry.get('example.com', 'v1', 'widgets')?.kind, 'Widget');
    const changed = structuredClone(made);
    (changed.spec as { scope: string }).scope = 'Cluster';
    const causes = await invalidCauses(rest.update(crds, undefined, 'widgets.example.com', changed, {}));
    assert.deepEqual(causes, ['spec.scope: Invalid value: "Cluster": field is immutable']);
  });

  test('a colliding CRD stored by an earlier version is not served, and deleting it deletes no built-in object', async () => {
    const deployments = builtin('apps', 'deployments');
    const secrets = builtin('', 'secrets');
    await rest.create(
      deployments,
      'default',
      {
        metadata: { name: 'web' },
        spec: {
          selector: { matchLabels: { a: 'b' } },
          template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
        },
      },
      {},
    );
    await rest.create(secrets, 'default', { metadata: { name: 's' }, stringData: { a: 'b' } }, {});
    // Written straight into the store, as validation never saw them.
    for (const [group, plural, kind] of [
      ['apps', 'deployments', 'Deployment'],
      ['core', 'secrets', 'Secret'],
      ['', 'secrets', 'Secret'],
    ] as const) {
      const old = crd(group, plural, kind);
      await store.create(objectKey(crds, undefined, old.metadata?.name as string), encode(old));
      syncCrdResources(registry, old, undefined);
    }
    assert.equal(builtin('apps', 'deployments'), deployments);
    assert.equal(builtin('', 'secrets'), secrets);
    for (const name of ['deployments.apps', 'secrets.core', 'secrets.'])
      await rest.delete(crds, undefined, name, {});
    assert.equal(builtin('apps', 'deployments'), deployments);
    assert.equal((await rest.list(deployments, 'default', {})).items.length, 1);
    assert.equal((await rest.list(secrets, 'default', {})).items.length, 1);
  });

  test('deleting a CRD deletes its own custom objects only', async () => {
    await rest.create(crds, undefined, crd('example.com', 'widgets', 'Widget'), {});
    await rest.create(crds, undefined, crd('example.com', 'widgets-extra', 'WidgetExtra'), {});
    const widgets = registry.get('example.com', 'v1', 'widgets') as ResourceInfo;
    const extras = registry.get('example.com', 'v1', 'widgets-extra') as ResourceInfo;
    await rest.create(widgets, 'default', { metadata: { name: 'w1' } }, {});
    await rest.create(extras, 'default', { metadata: { name: 'x1' } }, {});
    await rest.delete(crds, undefined, 'widgets.example.com', {});
    assert.equal(registry.get('example.com', 'v1', 'widgets'), undefined);
    assert.equal(await store.count('/registry/example.com/widgets/'), 0);
    assert.equal(await store.count('/registry/example.com/widgets-extra/'), 1);
  });

  test('a second CRD with a kind already served in its group does not take it over', async () => {
    await rest.create(crds, undefined, crd('example.com', 'widgets', 'Widget'), {});
    await rest.create(crds, undefined, crd('example.com', 'gadgets', 'Widget'), {});
    assert.equal(registry.forKind('example.com/v1', 'Widget')?.plural, 'widgets');
    assert.equal(registry.get('example.com', 'v1', 'gadgets'), undefined);
    await rest.delete(crds, undefined, 'gadgets.example.com', {});
    assert.equal(registry.forKind('example.com/v1', 'Widget')?.plural, 'widgets');
  });
});
