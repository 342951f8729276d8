/**
 * The garbage collector (after kube-controller-manager's): objects whose owners are all gone
 * are deleted; owners being deleted in the foreground lose their dependents first; owners
 * deleted with `orphan` free their dependents. It keeps a graph of owner uid -> dependents
 * over the shared informers of the kinds that own or are owned, so each event costs map
 * lookups, never a scan of all objects. An owner missing from the caches is confirmed with
 * a live read before anything is deleted: caches of different kinds fill at different times.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { unlessNotFound } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { Informer, keyOf } from '../client/informer.js';
import { type KubeObject, type Resource, Resources } from '../client/kube-client.js';
import type { ControllerSpec } from './context.js';

const log = logger('garbagecollector');

/** A kind the collector follows: its resource, and its name in ownerReferences. */
interface Kind {
  res: Resource;
  kind: string;
  apiVersion: string;
}

/** The kinds that own or are owned by the built-in controllers. */
export const collectedKinds: readonly Kind[] = [
  { res: Resources.pods, kind: 'Pod', apiVersion: 'v1' },
  { res: Resources.replicasets, kind: 'ReplicaSet', apiVersion: 'apps/v1' },
  { res: Resources.deployments, kind: 'Deployment', apiVersion: 'apps/v1' },
  { res: Resources.statefulsets, kind: 'StatefulSet', apiVersion: 'apps/v1' },
  { res: Resources.daemonsets, kind: 'DaemonSet', apiVersion: 'apps/v1' },
  { res: Resources.controllerrevisions, kind: 'ControllerRevision', apiVersion: 'apps/v1' },
  { res: Resources.jobs, kind: 'Job', apiVersion: 'batch/v1' },
  { res: Resources.cronjobs, kind: 'CronJob', apiVersion: 'batch/v1' },
  { res: Resources.services, kind: 'Service', apiVersion: 'v1' },
  { res: Resources.endpoints, kind: 'Endpoints', apiVersion: 'v1' },
  { res: Resources.endpointslices, kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1' },
  { res: Resources.configmaps, kind: 'ConfigMap', apiVersion: 'v1' },
  { res: Resources.secrets, kind: 'Secret', apiVersion: 'v1' },
  { res: Resources.persistentvolumeclaims, kind: 'PersistentVolumeClaim', apiVersion: 'v1' },
];

/** What the collector knows of one object, and reads of the caches. */
export interface GcCaches {
  get(kind: string, key: string): KubeObject | undefined;
  /** The (kind, key) of every cached object naming `uid` as an owner. */
  dependents(uid: string): { kind: string; key: string }[];
  /** True when an object with this uid is in the caches. */
  hasUid(uid: string): boolean;
}

/** What the collector does (a KubeClient in production, a recorder in unit tests). */
export interface GcActions {
  /**
   * Reads an owner live, of whatever kind its reference names (in the dependent's namespace
   * when the kind is namespaced): its uid, undefined when it does not exist, 'unknown' when
   * the kind cannot be resolved.
   */
  ownerUid(ref: OwnerRef, namespace: string | undefined): Promise<string | undefined | 'unknown'>;
  /** Deletes a dependent; Foreground when it has dependents of its own, so every level waits for the one below. */
  delete(kind: string, obj: KubeObject, policy?: 'Foreground' | 'Background'): Promise<unknown>;
  setOwners(
    kind: string,
    obj: KubeObject,
    owners: NonNullable<KubeObject['metadata']['ownerReferences']>,
  ): Promise<unknown>;
  setFinalizers(kind: string, obj: KubeObject, finalizers: string[]): Promise<unknown>;
  requeue(kind: string, key: string, ms: number): void;
}

type OwnerRef = NonNullable<KubeObject['metadata']['ownerReferences']>[number];

const FOREGROUND = 'foregroundDeletion';
/** How long a newly watched kind's first list may hold the sync that needed it. */
const FIRST_LIST_WAIT_MS = 10_000;
const ORPHAN = 'orphan';

/**
 * One pass for one object: as an owner being deleted (foreground: delete dependents, then
 * drop the finalizer; orphan: free dependents, then drop the finalizer), and as a dependent
 * (delete it when every owner is gone; drop references to owners that are gone).
 */
export async function syncGarbage(
  kind: string,
  key: string,
  caches: GcCaches,
  act: GcActions,
): Promise<void> {
  const obj = caches.get(kind, key);
  if (!obj) return;
  const m = obj.metadata;
  const finalizers = m.finalizers ?? [];
  if (m.deletionTimestamp && m.uid && (finalizers.includes(FOREGROUND) || finalizers.includes(ORPHAN))) {
    const deps = caches.dependents(m.uid).map((d) => ({ ...d, obj: caches.get(d.kind, d.key) }));
    if (finalizers.includes(ORPHAN)) {
      for (const d of deps) {
        if (!d.obj) continue;
        const owners = (d.obj.metadata.ownerReferences ?? []).filter((o) => o.uid !== m.uid);
        await act.setOwners(d.kind, d.obj, owners);
      }
      if (deps.length === 0)
        await act.setFinalizers(
          kind,
          obj,
          finalizers.filter((f) => f !== ORPHAN),
        );
      return;
    }
    // Foreground: the owner stays (with its finalizer) until no dependent is left.
    for (const d of deps)
      if (d.obj && !d.obj.metadata.deletionTimestamp)
        await act.delete(
          d.kind,
          d.obj,
          caches.dependents(d.obj.metadata.uid ?? '').length ? 'Foreground' : 'Background',
        );
    if (deps.length === 0)
      await act.setFinalizers(
        kind,
        obj,
        finalizers.filter((f) => f !== FOREGROUND),
      );
    else act.requeue(kind, key, 1000);
    return;
  }
  const owners = m.ownerReferences ?? [];
  if (owners.length === 0 || m.deletionTimestamp) return;
  const gone: string[] = [];
  for (const o of owners) {
    if (caches.hasUid(o.uid)) continue;
    const live = await act.ownerUid(o, m.namespace);
    if (live === 'unknown' || live === o.uid) continue;
    gone.push(o.uid);
  }
  if (gone.length === 0) return;
  if (gone.length === owners.length) await act.delete(kind, obj);
  else
    await act.setOwners(
      kind,
      obj,
      owners.filter((o) => !gone.includes(o.uid)),
    );
}

/** The API group of an apiVersion (`apps/v1` -> `apps`, `v1` -> ''). */
const groupOf = (apiVersion: string) =>
  apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';

/**
 * The collector's name for a kind: the built-in name for the kinds it always watches, and
 * `group/Kind` for the others (custom resources), so a custom kind named like a built-in one
 * is not taken for it.
 */
export function kindName(ref: { apiVersion: string; kind: string }): string {
  const group = groupOf(ref.apiVersion);
  return collectedKinds.some((k) => k.kind === ref.kind && groupOf(k.apiVersion) === group)
    ? ref.kind
    : `${group}/${ref.kind}`;
}

/** The collector as a control-plane member. */
export const garbageCollector: ControllerSpec = {
  name: 'garbagecollector',
  start(ctx) {
    const byKind = new Map(collectedKinds.map((k) => [k.kind, k]));
    const informers = new Map(collectedKinds.map((k) => [k.kind, ctx.informer(k.res)]));
    /** uid -> kind|key of every cached object; owner uid -> dependents' kind|key. */
    const uids = new Map<string, string>();
    const deps = new Map<string, Set<string>>();
    const link = (ref: string, o: KubeObject, add: boolean) => {
      for (const r of o.metadata.ownerReferences ?? []) {
        let set = deps.get(r.uid);
        if (add) {
          if (!set) {
            set = new Set();
            deps.set(r.uid, set);
          }
          set.add(ref);
        } else if (set) {
          set.delete(ref);
          if (set.size === 0) deps.delete(r.uid);
        }
      }
    };
    const caches: GcCaches = {
      get: (kind, key) => informers.get(kind)?.get(key),
      dependents: (uid) =>
        [...(deps.get(uid) ?? [])].map((ref) => {
          const i = ref.indexOf('|');
          return { kind: ref.slice(0, i), key: ref.slice(i + 1) };
        }),
      hasUid: (uid) => uids.has(uid),
    };
    const resOf = (kind: string) => byKind.get(kind)!.res;
    /**
     * Owners of kinds it does not watch from the start (custom resources, any other API): the
     * kind is looked up in discovery once and watched from then on, as upstream's collector
     * watches every deletable resource, so deleting such an owner takes its dependents.
     */
    const discovering = new Map<string, Promise<Kind | undefined>>();
    const discover = (ref: OwnerRef): Promise<Kind | undefined> => {
      const name = kindName(ref);
      const known = byKind.get(name);
      if (known) return Promise.resolve(known);
      let p = discovering.get(name);
      if (!p) {
        p = (async () => {
          const base = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
          const list = await unlessNotFound(
            ctx.client.request<{
              resources?: { name: string; kind: string; namespaced: boolean; verbs?: string[] }[];
            }>('GET', base),
          );
          if (!list) return undefined;
          const r = list.resources?.find(
            (x) => x.kind === ref.kind && !x.name.includes('/') && x.verbs?.includes('watch'),
          );
          if (!r) return undefined;
          const k: Kind = {
            res: { base, plural: r.name, namespaced: r.namespaced },
            kind: name,
            apiVersion: ref.apiVersion,
          };
          const inf = new Informer(ctx.client, k.res);
          byKind.set(name, k);
          informers.set(name, inf);
          watch(name, inf);
          inf.start();
          ctx.onStop(() => inf.stop());
          // Deletions before the first list are seen by the live read that follows. A kind that
          // cannot be listed (its CRD just went) must not hold a worker: the live read decides.
          await Promise.race([inf.hasSynced(), delay(FIRST_LIST_WAIT_MS, undefined, { ref: false })]);
          return k;
        })();
        // A failed lookup (the API down) is tried again by the next sync that needs it.
        p.catch(() => discovering.delete(name));
        discovering.set(name, p);
      }
      return p.then((k) => {
        if (!k) discovering.delete(name);
        return k;
      });
    };
    const q = ctx.queue((ref) => {
      const i = ref.indexOf('|');
      return syncGarbage(ref.slice(0, i), ref.slice(i + 1), caches, {
        async ownerUid(owner, namespace) {
          const k = await discover(owner);
          if (!k) return 'unknown';
          const live = await unlessNotFound(
            ctx.client.get(k.res, k.res.namespaced ? namespace : undefined, owner.name),
          );
          return live?.metadata.uid;
        },
        delete: (kind, o, policy = 'Background') =>
          unlessNotFound(
            ctx.client.delete(resOf(kind), o.metadata.namespace, o.metadata.name!, {
              propagationPolicy: policy,
              uid: o.metadata.uid,
            }),
          ),
        setOwners: (kind, o, owners) =>
          ctx.client.patch(resOf(kind), o.metadata.namespace, o.metadata.name!, {
            metadata: {
              ownerReferences: owners.length ? owners : null,
              resourceVersion: o.metadata.resourceVersion,
            },
          }),
        setFinalizers: (kind, o, finalizers) =>
          ctx.client.patch(resOf(kind), o.metadata.namespace, o.metadata.name!, {
            metadata: { finalizers, resourceVersion: o.metadata.resourceVersion },
          }),
        requeue: (kind, key, ms) => q.checkAfter(`${kind}|${key}`, ms),
      });
    }, 4);
    function watch(kind: string, inf: Informer): void {
      const refOf = (o: KubeObject) => `${kind}|${keyOf(o)}`;
      const touched = (o: KubeObject) => {
        // Only owners being deleted, and objects with an owner missing from the caches, need a
        // pass: the common case (every owner present) costs a map lookup per owner.
        if (o.metadata.deletionTimestamp) q.add(refOf(o));
        else if (o.metadata.ownerReferences?.some((r) => !uids.has(r.uid))) q.add(refOf(o));
      };
      inf
        .onAdd((o) => {
          if (o.metadata.uid) uids.set(o.metadata.uid, refOf(o));
          link(refOf(o), o, true);
          touched(o);
        })
        .onUpdate((o, old) => {
          if (old) link(refOf(old), old, false);
          link(refOf(o), o, true);
          touched(o);
          // An owner it no longer names may be waiting for that (orphan deletion).
          for (const r of old?.metadata.ownerReferences ?? []) {
            if (o.metadata.ownerReferences?.some((x) => x.uid === r.uid)) continue;
            const owner = uids.get(r.uid);
            if (owner) q.add(owner);
          }
        })
        .onDelete((o) => {
          if (o.metadata.uid) uids.delete(o.metadata.uid);
          link(refOf(o), o, false);
          // Its dependents may now be garbage; its owners may be waiting for it (foreground).
          for (const d of deps.get(o.metadata.uid ?? '') ?? []) q.add(d);
          for (const r of o.metadata.ownerReferences ?? []) {
            const owner = uids.get(r.uid);
            if (owner) q.add(owner);
          }
        });
    }
    for (const [kind, inf] of informers) watch(kind, inf);
    // Custom resources are watched as soon as their CRD is served, as upstream's collector
    // watches every deletable resource: one deleted in the foreground, or owning something,
    // is handled even if nothing named its kind before.
    const crds = ctx.informer(Resources.customresourcedefinitions);
    const served = (crd: KubeObject) => {
      const spec = (crd.spec ?? {}) as {
        group?: string;
        names?: { kind?: string };
        versions?: { name: string; storage?: boolean }[];
      };
      const version = spec.versions?.find((v) => v.storage)?.name;
      if (!spec.group || !spec.names?.kind || !version) return;
      const ref = { apiVersion: `${spec.group}/${version}`, kind: spec.names.kind, name: '', uid: '' };
      discover(ref).catch((err) =>
        log.warn('custom resource not watched; it is looked up again when something names it', {
          kind: kindName(ref),
          err: err as Error,
        }),
      );
    };
    crds
      .onAdd(served)
      .onUpdate(served)
      .onDelete((crd) => {
        const spec = (crd.spec ?? {}) as { group?: string; names?: { kind?: string } };
        const name = `${spec.group}/${spec.names?.kind}`;
        informers.get(name)?.stop();
        informers.delete(name);
        byKind.delete(name);
        discovering.delete(name);
      });
  },
};
