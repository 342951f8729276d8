/**
 * What every namespace holds from its first moment (kube-controller-manager's serviceaccount
 * controller and root-CA publisher): a `default` ServiceAccount, and a `kube-root-ca.crt`
 * ConfigMap with the cluster CA, so in-cluster clients can verify the API server. Both are
 * put back when deleted; the ConfigMap is corrected when its CA differs.
 */
import { isAlreadyExists, isNotFound } from '../../core/errors.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import type { ControllerSpec } from './context.js';

export const ROOT_CA = 'kube-root-ca.crt';

export interface NamespaceDefaultsCaches {
  namespace(name: string): KubeObject | undefined;
  serviceAccount(ns: string, name: string): KubeObject | undefined;
  configMap(ns: string, name: string): KubeObject | undefined;
}

export interface NamespaceDefaultsActions {
  create(kind: 'ServiceAccount' | 'ConfigMap', ns: string, obj: KubeObject): Promise<unknown>;
  updateConfigMap(obj: KubeObject): Promise<unknown>;
}

/** One pass for one namespace: create what is missing, fix a wrong CA. */
export async function syncNamespaceDefaults(
  ns: string,
  ca: string | undefined,
  caches: NamespaceDefaultsCaches,
  act: NamespaceDefaultsActions,
): Promise<void> {
  const n = caches.namespace(ns);
  if (!n || n.metadata.deletionTimestamp || n.status?.phase === 'Terminating') return;
  const tolerate = (e: unknown) => {
    if (!isAlreadyExists(e) && !isNotFound(e)) throw e;
  };
  if (!caches.serviceAccount(ns, 'default'))
    await act
      .create('ServiceAccount', ns, {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'default' },
      })
      .catch(tolerate);
  if (!ca) return;
  const cm = caches.configMap(ns, ROOT_CA);
  if (!cm)
    await act
      .create('ConfigMap', ns, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: ROOT_CA, annotations: { 'kubernetes.io/description': descr } },
        data: { 'ca.crt': ca },
      })
      .catch(tolerate);
  else {
    const data = (cm.data ?? {}) as Record<string, string>;
    if (data['ca.crt'] !== ca) await act.updateConfigMap({ ...cm, data: { ...data, 'ca.crt': ca } });
  }
}

const descr =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

export const namespaceDefaultsController: ControllerSpec = {
  name: 'serviceaccount',
  start(ctx) {
    const namespaces = ctx.informer(Resources.namespaces);
    const sas = ctx.informer(Resources.serviceaccounts);
    const cms = ctx.informer(Resources.configmaps);
    const q = ctx.queue(
      (ns) =>
        syncNamespaceDefaults(
          ns,
          ctx.client.ca,
          {
            namespace: (name) => namespaces.get(name),
            serviceAccount: (n, name) => sas.get(`${n}/${name}`),
            configMap: (n, name) => cms.get(`${n}/${name}`),
          },
          {
            create: (kind, n, o) =>
              ctx.client.create(
                kind === 'ServiceAccount' ? Resources.serviceaccounts : Resources.configmaps,
                n,
                o,
              ),
            updateConfigMap: (o) => ctx.client.update(Resources.configmaps, o),
          },
        ),
      2,
    );
    namespaces.onAdd((n) => q.add(n.metadata.name!)).onUpdate((n) => q.add(n.metadata.name!));
    sas.onDelete((sa) => {
      if (sa.metadata.name === 'default') q.add(sa.metadata.namespace!);
    });
    const onCm = (cm: KubeObject) => {
      if (cm.metadata.name === ROOT_CA) q.add(cm.metadata.namespace!);
    };
    cms.onDelete(onCm).onUpdate(onCm);
  },
};
