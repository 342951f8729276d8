/**
 * Keeps an {@link RbacPolicy} in step with the store: a list of the four rbac kinds, then a
 * watch from that revision (relisting if the watch fails, as an informer does). The server's
 * own writes are also applied at once through {@link feedWrite}, so a RoleBinding that was
 * just created is in force for the next request; the watch brings writes of other servers
 * sharing the datastore.
 */
import { logger } from '../../../core/log.js';
import { decode } from '../../api/objects.js';
import type { ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/selectors.js';
import type { Store, Watch, WatchEvent } from '../../store/store.js';
import { policyId, type RbacKind, type RbacPolicy } from './rbac.js';
import { rbacGroup } from './rules.js';

const log = logger('apiserver');

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

/** Lists and watches the rbac kinds into `policy`; resolves once the first list is in. */
export async function feedFromStore(store: Store, policy: RbacPolicy): Promise<{ stop(): void }> {
  let watch: Watch | undefined;
  let stopped = false;
  const kindOf = (key: string): RbacKind | undefined => plurals[key.slice(prefix.length).split('/')[0] ?? ''];
  const onEvents = (events: WatchEvent[]) => {
    for (const e of events) {
      const kind = kindOf(e.kv.key);
      if (kind) applyObject(policy, kind, decode(e.kv), e.type === 'delete', e.kv.modRevision);
    }
  };
  const start = async (): Promise<void> => {
    if (stopped) return;
    const list = await store.list(prefix);
    const listed = new Set<string>();
    for (const kv of list.items) {
      const kind = kindOf(kv.key);
      if (!kind) continue;
      const o = decode(kv);
      listed.add(policyId(kind, o.metadata?.namespace ?? '', o.metadata?.name ?? ''));
      applyObject(policy, kind, o, false, kv.modRevision);
    }
    // What was deleted while no watch ran.
    policy.prune(listed, list.revision);
    if (stopped) return;
    watch = store.watch(prefix, list.revision, {
      onEvents,
      onError: (err) => {
        if (stopped) return;
        log.warn('rbac policy watch failed; listing again', { err });
        setTimeout(() => void start().catch((e) => log.error('rbac policy relist failed', { err: e })), 1000);
      },
    });
  };
  await start();
  return {
    stop() {
      stopped = true;
      watch?.close();
    },
  };
}
