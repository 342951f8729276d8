/**
 * ServiceAccount admission: a pod runs as a ServiceAccount (`default` unless it names one),
 * which must exist; unless the pod or the account opts out with
 * `automountServiceAccountToken: false`, the pod gets the `kube-api-access-XXXXX` projected
 * volume (a bound token, the cluster CA, its namespace) mounted read-only where in-cluster
 * clients look for it, in every container and init container. A pod naming no
 * imagePullSecrets gets its account's.
 */
import { decode, nameSuffix } from '../../api/objects.js';
import type { StoreReader } from '../../store/store.js';
import { type AdmissionPlugin, forbidden, isCore } from './chain.js';

/** Where client libraries look for the token, the CA and the namespace. */
export const apiAccessMountPath = '/var/run/secrets/kubernetes.io/serviceaccount';
const volumePrefix = 'kube-api-access-';
/** Upstream's token lifetime for the projected volume: an hour and seven seconds. */
const tokenSeconds = 3607;

type Mount = { name?: string; mountPath?: string; readOnly?: boolean };
type Container = { volumeMounts?: Mount[] };
type PodSpec = {
  serviceAccountName?: string;
  serviceAccount?: string;
  automountServiceAccountToken?: boolean;
  volumes?: { name?: string }[];
  imagePullSecrets?: { name?: string }[];
  containers?: Container[];
  initContainers?: Container[];
};

/** The projected volume upstream adds (its sources, in upstream's order). */
export function apiAccessVolume(name: string): Record<string, unknown> {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: tokenSeconds, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
          },
        },
      ],
    },
  };
}

export function serviceAccountAdmission(store: StoreReader): AdmissionPlugin {
  return {
    name: 'ServiceAccount',
    async admit(req) {
      if (!isCore(req, 'Pod') || req.operation !== 'CREATE' || req.subresource) return;
      // Mirror pods (a kubelet's static pods) are not the API server's to give credentials.
      if (req.object.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined) return;
      const spec = (req.object.spec ?? {}) as PodSpec;
      req.object.spec = spec;
      const saName = spec.serviceAccountName || spec.serviceAccount || 'default';
      spec.serviceAccountName = saName;
      spec.serviceAccount = saName;
      const kv = await store.get(`/registry/core/serviceaccounts/${req.namespace}/${saName}`);
      if (!kv)
        throw forbidden(
          req,
          `error looking up service account ${req.namespace}/${saName}: serviceaccount "${saName}" not found`,
        );
      const sa = decode(kv) as {
        automountServiceAccountToken?: boolean;
        imagePullSecrets?: { name?: string }[];
      };
      // The account's pull secrets serve a pod that names none of its own.
      if (!spec.imagePullSecrets?.length && sa.imagePullSecrets?.length)
        spec.imagePullSecrets = sa.imagePullSecrets.map((s) => ({ name: s.name }));
      const automount = spec.automountServiceAccountToken ?? sa.automountServiceAccountToken ?? true;
      if (!automount) return;
      const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
      // A container that mounts something at the path itself keeps it.
      const needing = containers.filter(
        (c) => !(c.volumeMounts ?? []).some((m) => m.mountPath === apiAccessMountPath),
      );
      if (!needing.length) return;
      let volume = spec.volumes?.find((v) => v.name?.startsWith(volumePrefix))?.name;
      if (!volume) {
        volume = `${volumePrefix}${nameSuffix()}`;
        spec.volumes = [...(spec.volumes ?? []), apiAccessVolume(volume)];
      }
      for (const c of needing)
        c.volumeMounts = [
          ...(c.volumeMounts ?? []),
          { name: volume, readOnly: true, mountPath: apiAccessMountPath },
        ];
    },
  };
}
