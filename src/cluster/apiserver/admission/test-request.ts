/** Builds admission requests and a seeded store for the plugins' unit tests. */
import { ResourceRegistry } from '../../api/resources.js';
import type { KubeObject } from '../../api/selectors.js';
import { memoryStore } from '../../store/memory.js';
import type { Store } from '../../store/store.js';
import type { UserInfo } from '../authz/attributes.js';
import type { AdmissionRequest, Operation } from './chain.js';

const registry = new ResourceRegistry();

/** A request to write `object` of `plural` (core group unless `group`), collecting warnings. */
export function request(
  plural: string,
  object: KubeObject,
  opts: {
    group?: string;
    version?: string;
    operation?: Operation;
    old?: KubeObject;
    dryRun?: boolean;
    subresource?: string;
    user?: UserInfo;
  } = {},
): AdmissionRequest & { warnings: string[] } {
  const resource = registry.get(opts.group ?? '', opts.version ?? 'v1', plural);
  if (!resource) throw new Error(`no resource ${plural}`);
  const warnings: string[] = [];
  return {
    resource,
    operation: opts.operation ?? 'CREATE',
    namespace: object.metadata?.namespace ?? 'ns',
    name: object.metadata?.name ?? '',
    object,
    ...(opts.old ? { oldObject: opts.old } : {}),
    ...(opts.subresource ? { subresource: opts.subresource } : {}),
    ...(opts.user ? { user: opts.user } : {}),
    dryRun: !!opts.dryRun,
    warn: (t) => warnings.push(t),
    warnings,
  };
}

/** A pod in namespace `ns` with the given containers. */
export const pod = (
  name: string,
  containers: Record<string, unknown>[],
  spec: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ns' },
  spec: { containers, ...spec },
});

/** A memory store holding `objects`, each under `/registry/core/PLURAL/ns/NAME` (or cluster-wide). */
export async function storeWith(objects: [plural: string, object: KubeObject][]): Promise<Store> {
  const store = memoryStore();
  for (const [plural, o] of objects) {
    const ns = o.metadata?.namespace;
    await store.create(
      `/registry/core/${plural}/${ns ? `${ns}/` : ''}${o.metadata?.name}`,
      JSON.stringify(o),
    );
  }
  return store;
}

/** A container that passes Pod Security's restricted level, to vary one field at a time. */
export const restrictedContainer = {
  name: 'c',
  securityContext: {
    allowPrivilegeEscalation: false,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
};
