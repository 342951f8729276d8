/** Validation of policy/v1 PodDisruptionBudgets and autoscaling HorizontalPodAutoscalers. */

import { invalid, notSupported, required } from './field-errors.js';
import { obj } from './field-values.js';
import { intOrPercentProblem } from './int-or-percent.js';
import type { KubeObject } from './selectors.js';
import type { StatusCause } from './status.js';

const evictionPolicies = ['IfHealthyBudget', 'AlwaysAllow'];

export function validatePdb(o: KubeObject): StatusCause[] {
  const spec = obj(o.spec);
  const causes: StatusCause[] = [];
  if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined)
    causes.push(invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
  for (const f of ['minAvailable', 'maxUnavailable']) {
    if (spec[f] === undefined) continue;
    const p = intOrPercentProblem(spec[f]);
    if (p) causes.push(invalid(`spec.${f}`, spec[f], p));
  }
  const policy = spec.unhealthyPodEvictionPolicy;
  if (policy !== undefined && !evictionPolicies.includes(String(policy)))
    causes.push(notSupported('spec.unhealthyPodEvictionPolicy', policy, evictionPolicies));
  return causes;
}

export function validateHpa(o: KubeObject): StatusCause[] {
  const spec = obj(o.spec);
  const causes: StatusCause[] = [];
  const ref = obj(spec.scaleTargetRef);
  if (!ref.kind) causes.push(required('spec.scaleTargetRef.kind'));
  if (!ref.name) causes.push(required('spec.scaleTargetRef.name'));
  const min = spec.minReplicas ?? 1;
  if (typeof min !== 'number' || min < 1)
    causes.push(invalid('spec.minReplicas', min, 'must be greater than or equal to 1'));
  if (typeof spec.maxReplicas !== 'number' || spec.maxReplicas < 1)
    causes.push(invalid('spec.maxReplicas', spec.maxReplicas ?? 0, 'must be greater than 0'));
  else if (typeof min === 'number' && spec.maxReplicas < min)
    causes.push(
      invalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than or equal to `minReplicas`'),
    );
  return causes;
}
