/**
 * DefaultStorageClass admission: a claim that leaves `storageClassName` unset gets the class
 * annotated as the default (the newest, if several are); an empty string stays empty.
 */
import { decode } from '../../api/objects.js';
import type { StoreReader } from '../../store/store.js';
import { type AdmissionPlugin, isCore, ShortLived } from './chain.js';

export function defaultStorageClassAdmission(store: StoreReader): AdmissionPlugin {
  const defaultName = new ShortLived(
    async () =>
      (await store.list('/registry/storage.k8s.io/storageclasses/')).items
        .map(decode)
        .filter((c) => c.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true')
        .sort((a, b) =>
          String(b.metadata?.creationTimestamp).localeCompare(String(a.metadata?.creationTimestamp)),
        )[0]?.metadata?.name,
  );
  return {
    name: 'DefaultStorageClass',
    written: (r) => {
      if (r.kind === 'StorageClass') defaultName.clear();
    },
    async admit(req) {
      if (!isCore(req, 'PersistentVolumeClaim') || req.operation !== 'CREATE') return;
      const spec = (req.object.spec ?? {}) as { storageClassName?: string | null };
      if (spec.storageClassName !== undefined && spec.storageClassName !== null) return;
      const name = await defaultName.get();
      if (name) {
        spec.storageClassName = name;
        req.object.spec = spec;
      }
    },
  };
}
