/**
 * The `pods/eviction` subresource (policy/v1 Eviction), as kube-apiserver's eviction REST:
 * a pod covered by a PodDisruptionBudget is deleted only when the budget's status allows a
 * disruption, and the grant is recorded in the budget (disruptionsAllowed less one, the pod
 * in disruptedPods) in the same conditional write that checks it, so two evictions racing
 * for the last allowed disruption cannot both win. `kubectl drain` retries on the 429.
 */
import { isConflict } from '../../core/errors.js';
import { MAX_DISRUPTED_PODS, pdbSelects } from '../api/disruption-budget.js';
import { metaTime } from '../api/meta-time.js';
import type { ResourceInfo, ResourceRegistry } from '../api/resources.js';
import type { KubeObject } from '../api/selectors.js';
import { ApiError, badRequest, conflictError } from '../api/status.js';
import type { RestStorage } from './rest.js';

const BUDGET_RETRIES = 10;

type Obj = Record<string, unknown>;
type Eviction = KubeObject & {
  deleteOptions?: { preconditions?: { uid?: string; resourceVersion?: string }; dryRun?: string[] };
};

const violation = (cause: string, retryAfterSeconds: number) =>
  new ApiError(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", {
    retryAfterSeconds,
    causes: [{ reason: 'DisruptionBudget', message: cause }],
  });

const podReady = (p: KubeObject) =>
  ((p.status as Obj | undefined)?.conditions as { type: string; status: string }[] | undefined)?.some(
    (c) => c.type === 'Ready' && c.status === 'True',
  ) ?? false;

/**
 * Pods whose eviction never costs the budget anything: finished, not yet running, or already
 * being deleted (upstream's `canIgnorePDB`).
 */
const costsNothing = (p: KubeObject) =>
  ['Succeeded', 'Failed', 'Pending'].includes(String((p.status as Obj | undefined)?.phase ?? 'Pending')) ||
  Boolean(p.metadata?.deletionTimestamp);

export async function evictPod(
  rest: RestStorage,
  reg: ResourceRegistry,
  pods: ResourceInfo,
  namespace: string,
  name: string,
  body: Eviction,
  dryRunQuery: boolean,
): Promise<void> {
  if (body.metadata?.name !== undefined && body.metadata.name !== name)
    throw badRequest(`name in URL does not match name in Eviction object`);
  const opts = body.deleteOptions ?? {};
  const dryRun = dryRunQuery || (opts.dryRun ?? []).includes('All');
  const pdbs = reg.get('policy', 'v1', 'poddisruptionbudgets');
  const remove = () =>
    rest.delete(pods, namespace, name, {
      dryRun,
      ...(opts.preconditions?.uid ? { preconditionUid: opts.preconditions.uid } : {}),
      ...(opts.preconditions?.resourceVersion ? { preconditionRV: opts.preconditions.resourceVersion } : {}),
    });
  for (let attempt = 0; ; attempt++) {
    const pod = await rest.get(pods, namespace, name);
    if (opts.preconditions?.uid && pod.metadata?.uid !== opts.preconditions.uid)
      throw conflictError({ group: '', resource: 'pods', name });
    if (costsNothing(pod) || !pdbs) {
      await remove();
      return;
    }
    const budgets = (await rest.list(pdbs, namespace, {})).items.filter((b) => pdbSelects(b, pod));
    if (budgets.length === 0) {
      await remove();
      return;
    }
    if (budgets.length > 1)
      throw new ApiError(
        500,
        'InternalError',
        'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
      );
    const pdb = budgets[0] as KubeObject;
    const spec = (pdb.spec ?? {}) as Obj;
    const status = (pdb.status ?? {}) as {
      observedGeneration?: number;
      disruptionsAllowed?: number;
      currentHealthy?: number;
      desiredHealthy?: number;
      disruptedPods?: Record<string, string>;
    };
    // An unready pod adds nothing to the budget: AlwaysAllow, or a budget already met, lets it go.
    if (
      !podReady(pod) &&
      (spec.unhealthyPodEvictionPolicy === 'AlwaysAllow' ||
        ((status.currentHealthy ?? 0) >= (status.desiredHealthy ?? 0) && (status.desiredHealthy ?? 0) > 0))
    ) {
      await remove();
      return;
    }
    const pdbName = pdb.metadata?.name ?? '';
    if ((status.observedGeneration ?? 0) < Number(pdb.metadata?.generation ?? 1))
      throw violation(`The disruption budget ${pdbName} is still being processed by the server.`, 10);
    const allowed = status.disruptionsAllowed ?? 0;
    if (allowed < 0) throw new ApiError(403, 'Forbidden', 'pdb disruptions allowed is negative');
    if (Object.keys(status.disruptedPods ?? {}).length > MAX_DISRUPTED_PODS)
      throw new ApiError(
        403,
        'Forbidden',
        'DisruptedPods map too big - too many evictions not confirmed by PDB controller',
      );
    if (allowed === 0)
      throw violation(
        `The disruption budget ${pdbName} needs ${status.desiredHealthy ?? 0} healthy pods and has ${status.currentHealthy ?? 0} currently`,
        0,
      );
    if (!dryRun) {
      const next = {
        ...pdb,
        status: {
          ...status,
          disruptionsAllowed: allowed - 1,
          disruptedPods: {
            ...(status.disruptedPods ?? {}),
            [name]: metaTime(),
          },
        },
      };
      try {
        await rest.update(pdbs, namespace, pdbName, next, { subresource: 'status' });
      } catch (e) {
        // Another eviction or the controller wrote the budget first: decide again on what it says now.
        if (isConflict(e) || (e instanceof ApiError && e.reason === 'Conflict'))
          if (attempt < BUDGET_RETRIES) continue;
        throw e;
      }
    }
    await remove();
    return;
  }
}
