/**
 * DefaultTolerationSeconds admission: a pod that does not tolerate the not-ready and
 * unreachable NoExecute taints gets a toleration of each for `seconds`, so the node lifecycle
 * controller evicts it that long after its node fails. Kubernetes uses 300 seconds; Berth 30,
 * so a failed node's pods move within a minute (`berth server --default-toleration-seconds`).
 * It runs wherever the API server applies defaults: on create, and on every update but a
 * status or finalize write.
 */
import { arr } from '../../api/field-values.js';
import { type AdmissionPlugin, isCore } from './chain.js';

/** The seconds a pod stays on a failed node unless the server is told otherwise. */
export const DEFAULT_TOLERATION_SECONDS = 30;

const taints = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'];

export function defaultTolerationSecondsAdmission(seconds = DEFAULT_TOLERATION_SECONDS): AdmissionPlugin {
  return {
    name: 'DefaultTolerationSeconds',
    async admit(req) {
      if (!isCore(req, 'Pod') || req.subresource === 'status' || req.subresource === 'finalize') return;
      const spec = (req.object.spec ?? {}) as { tolerations?: unknown };
      const tolerations = arr(spec.tolerations);
      for (const key of taints)
        if (
          !tolerations.some(
            (t) =>
              (t.key === key || (!t.key && t.operator === 'Exists')) &&
              (!t.effect || t.effect === 'NoExecute'),
          )
        )
          tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds });
      spec.tolerations = tolerations;
      req.object.spec = spec;
    },
  };
}
