/**
 * Priority admission: a pod's priorityClassName becomes spec.priority (and its
 * preemptionPolicy); without one it gets the globalDefault class's, else 0. An unknown class
 * is refused as upstream refuses it.
 */
import { decode } from '../../api/objects.js';
import type { KubeObject } from '../../api/selectors.js';
import type { StoreReader } from '../../store/store.js';
import { type AdmissionPlugin, forbidden, isCore, ShortLived } from './chain.js';

const prefix = '/registry/scheduling.k8s.io/priorityclasses/';

export function priorityAdmission(store: StoreReader): AdmissionPlugin {
  const globalDefault = new ShortLived(async () =>
    (await store.list(prefix)).items
      .map(decode)
      .find((c) => (c as { globalDefault?: boolean }).globalDefault === true),
  );
  return {
    name: 'Priority',
    written: (r) => {
      if (r.kind === 'PriorityClass') globalDefault.clear();
    },
    async admit(req) {
      if (!isCore(req, 'Pod') || req.operation !== 'CREATE') return;
      const spec = (req.object.spec ?? {}) as {
        priorityClassName?: string;
        priority?: number;
        preemptionPolicy?: string;
      };
      let pc: KubeObject | undefined;
      if (spec.priorityClassName) {
        const kv = await store.get(`${prefix}${spec.priorityClassName}`);
        if (!kv) throw forbidden(req, `no PriorityClass with name ${spec.priorityClassName} was found`);
        pc = decode(kv);
      } else {
        pc = await globalDefault.get();
        if (pc) spec.priorityClassName = pc.metadata?.name as string;
      }
      if (pc) {
        spec.priority = Number((pc as { value?: number }).value ?? 0);
        spec.preemptionPolicy =
          (pc as { preemptionPolicy?: string }).preemptionPolicy ?? 'PreemptLowerPriority';
      }
      req.object.spec = spec;
    },
  };
}
