/**
 * Berth's built-in dynamic provisioner, after k3s's local-path provisioner: the default
 * StorageClass `local-path` binds when the first pod is scheduled (WaitForFirstConsumer), and
 * a claim of that class gets a new hostPath volume on the pod's node, under
 * /var/lib/berth/storage, pinned to that node by its node affinity. The node agent creates
 * the folder when it mounts it (`DirectoryOrCreate`).
 */
import type { KubeObject } from '../client/kube-client.js';
import { claimRefFor } from './volume-match.js';

export const LOCAL_PATH_PROVISIONER = 'berth.dev/local-path';
export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
export const STORAGE_ROOT = '/var/lib/berth/storage';

/** The StorageClass the API server creates at bootstrap. */
export const defaultStorageClass: KubeObject = {
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name: 'local-path', annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' } },
  provisioner: LOCAL_PATH_PROVISIONER,
  reclaimPolicy: 'Delete',
  volumeBindingMode: 'WaitForFirstConsumer',
} as KubeObject;

/** Whether Berth itself provisions volumes of this class. */
export const provisionsLocally = (cls: KubeObject | undefined): boolean =>
  (cls as { provisioner?: string } | undefined)?.provisioner === LOCAL_PATH_PROVISIONER;

/** The volume for a claim on a node: its size and modes, the class's policy, pre-bound to it. */
export function provisionVolume(pvc: KubeObject, cls: KubeObject, node: string): KubeObject {
  const name = `pvc-${pvc.metadata.uid}`;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name,
      annotations: {
        'pv.kubernetes.io/provisioned-by': LOCAL_PATH_PROVISIONER,
        'local.path.provisioner/selected-node': node,
      },
    },
    spec: {
      capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '1Gi' },
      accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
      volumeMode: pvc.spec?.volumeMode ?? 'Filesystem',
      persistentVolumeReclaimPolicy: (cls as { reclaimPolicy?: string }).reclaimPolicy ?? 'Delete',
      storageClassName: cls.metadata.name,
      hostPath: {
        path: `${STORAGE_ROOT}/${name}_${pvc.metadata.namespace}_${pvc.metadata.name}`,
        type: 'DirectoryOrCreate',
      },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] },
          ],
        },
      },
      claimRef: claimRefFor(pvc),
    },
  };
}
