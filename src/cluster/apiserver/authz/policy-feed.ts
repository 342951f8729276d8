/**
 * Keeps an {@link RbacPolicy} in step with the store: a list of the four rbac kinds, then a
 * watch from that revision (relisting if the watch fails, as an informer does; store-feed.ts). The server's
 * own writes are also applied at once through {@link feedWrite}, so a RoleBinding that was
 * just created is in force for the next request; the watch brings writes of other servers
 * sharing the datastore.
 */
import { decode } from '../../api/objects.js';
import type { ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/selectors.js';
import type { Store } from '../../store/store.js';
import { policyId, type RbacKind, type RbacPolicy } from './rbac.js';
import { rbacGroup } from './rules.js';
import { feedFromPrefix } from './store-feed.js';

const plurals: Record<string, RbacKind> = {
  roles: 'Role',
  clusterroles: 'ClusterRole',
  rolebindings: 'RoleBinding',
  clusterrolebindings: 'ClusterRoleBinding',
};
const prefix = `/registry/${rbacGroup}/`;

const revisionOf = (o: KubeObject) => Number(o.metadata?.resourceVersion ?? 0);

/** Applies one stored object or deletion to the policy. */
function applyObject(policy: RbacPolicy, kind: RbacKind, o: KubeObject, deleted: boolean, rev: number): void {
  policy.apply(kind, o.metadata?.namespace ?? '', o.metadata?.name ?? '', deleted ? undefined : o, rev);
}

/** The write hook: applies a write the server just made to an rbac kind. */
export function feedWrite(
  policy: RbacPolicy,
  r: ResourceInfo,
  obj: KubeObject | undefined,
  old: KubeObject | undefined,
): void {
  if (r.group !== rbacGroup) return;
  const kind = plurals[r.plural];
  const o = obj ?? old;
  if (!kind || !o) return;
  applyObject(policy, kind, o, !obj, revisionOf(o));
}

/** The policy id of a stored rbac key (`.../roles/NS/NAME`, `.../clusterroles/NAME`). */
function idOfKey(key: string): string | undefined {
  const [plural = '', a = '', b] = key.slice(prefix.length).split('/');
  const kind = plurals[plural];
  if (!kind) return undefined;
  return b === undefined ? policyId(kind, '', a) : policyId(kind, a, b);
}

/** Lists and watches the rbac kinds into `policy`; resolves once the first list is in. */
export function feedFromStore(store: Store, policy: RbacPolicy): Promise<{ stop(): void }> {
  return feedFromPrefix(
    store,
    prefix,
    {
      apply(kv, deleted) {
        const kind = plurals[kv.key.slice(prefix.length).split('/')[0] ?? ''];
        if (kind) applyObject(policy, kind, decode(kv), deleted, kv.modRevision);
      },
      listed(keys, revision) {
        // What was deleted while no watch ran.
        const ids = new Set<string>();
        for (const k of keys) {
          const id = idOfKey(k);
          if (id) ids.add(id);
        }
        policy.prune(ids, revision);
      },
    },
    'rbac policy',
  );
}
