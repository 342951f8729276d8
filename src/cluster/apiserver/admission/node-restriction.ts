/**
 * NodeRestriction admission (upstream's plugin), for writes by a node (`system:node:NAME` in
 * `system:nodes`): it may create or change only its own Node and its own Lease, may not set or
 * change labels under `node-restriction.kubernetes.io/` (the prefix admins use to steer
 * workloads to nodes they vouch for), and may write the status of, and delete, only the pods
 * bound to it.
 * What it may do at all is the Node authorizer's business (authz/node-authorizer.ts).
 */
import type { KubeObject } from '../../api/selectors.js';
import { ApiError } from '../../api/status.js';
import type { UserInfo } from '../authz/attributes.js';
import { nodeIdentity } from '../authz/node-authorizer.js';
import { type AdmissionPlugin, type AdmissionRequest, forbidden, isCore } from './chain.js';

const restrictedPrefix = 'node-restriction.kubernetes.io/';

const isRestricted = (label: string) => {
  const prefix = label.includes('/') ? label.slice(0, label.indexOf('/')) : '';
  return prefix === 'node-restriction.kubernetes.io' || prefix.endsWith(`.${restrictedPrefix.slice(0, -1)}`);
};

/** The node a pod is bound to. */
const bound = (o: KubeObject | undefined) => (o?.spec as { nodeName?: string } | undefined)?.nodeName;

const labelsOf = (o: KubeObject | undefined) => (o?.metadata?.labels ?? {}) as Record<string, string>;

function checkNode(req: AdmissionRequest, node: string): void {
  if (req.name !== node) throw forbidden(req, `node "${node}" is not allowed to modify node "${req.name}"`);
  const now = labelsOf(req.object);
  const before = labelsOf(req.oldObject);
  const changed = [...new Set([...Object.keys(now), ...Object.keys(before)])]
    .filter(isRestricted)
    .filter((k) => now[k] !== before[k])
    .sort();
  if (!changed.length) return;
  throw forbidden(
    req,
    req.operation === 'CREATE'
      ? `node "${node}" is not allowed to set the following labels: ${changed.join(', ')}`
      : `node "${node}" is not allowed to modify labels: ${changed.join(', ')}`,
  );
}

export function nodeRestrictionAdmission(): AdmissionPlugin {
  return {
    name: 'NodeRestriction',
    async validate(req) {
      const node = req.user && nodeIdentity(req.user);
      if (!node) return;
      if (isCore(req, 'Node')) return checkNode(req, node);
      if (isCore(req, 'Pod')) {
        if (req.operation === 'CREATE') throw forbidden(req, `node "${node}" can only create mirror pods`);
        if (bound(req.oldObject) !== node || bound(req.object) !== node)
          throw forbidden(
            req,
            `node "${node}" can only update pod status for pods with spec.nodeName set to itself`,
          );
        return;
      }
      if (req.resource.kind === 'Lease' && req.resource.group === 'coordination.k8s.io' && req.name !== node)
        throw forbidden(req, 'can only access node lease with the same name as the requesting node');
    },
    // The Node authorizer lets a node delete pods by name; which ones is decided here, on the
    // stored pod, so a pod that is gone is 404 (as upstream) and one bound elsewhere 403.
    async validateDelete(req) {
      const node = req.user && nodeIdentity(req.user);
      if (!node || !isCore(req, 'Pod')) return;
      if (bound(req.object) !== node)
        throw forbidden(req, `node "${node}" can only delete pods with spec.nodeName set to itself`);
    },
  };
}

/**
 * A node's TokenRequest (`serviceaccounts/NAME/token`) must bind the token to a pod, by name
 * and uid, that is scheduled on that node (upstream NodeRestriction's admitServiceAccount), so
 * a node cannot mint tokens that outlive its pods or speak for pods elsewhere. Other users'
 * requests pass. `podOf` reads the pod (undefined when there is none).
 */
export async function checkNodeTokenRequest(
  user: UserInfo,
  serviceAccount: string,
  namespace: string,
  body: KubeObject,
  podOf: (namespace: string, name: string) => Promise<KubeObject | undefined>,
): Promise<void> {
  const node = nodeIdentity(user);
  if (!node) return;
  const refuse = (why: string) =>
    new ApiError(403, 'Forbidden', `serviceaccounts "${serviceAccount}" is forbidden: ${why}`, {
      name: serviceAccount,
      kind: 'serviceaccounts',
    });
  const ref = (
    body.spec as { boundObjectRef?: { apiVersion?: string; kind?: string; name?: string; uid?: string } }
  )?.boundObjectRef;
  if (ref?.apiVersion !== 'v1' || ref.kind !== 'Pod' || !ref.name)
    throw refuse('node requested token not bound to a pod');
  if (!ref.uid) throw refuse('node requested token with a pod binding without a uid');
  const pod = await podOf(namespace, ref.name);
  if (!pod)
    throw new ApiError(404, 'NotFound', `pods "${ref.name}" not found`, { name: ref.name, kind: 'pods' });
  if (pod.metadata?.uid !== ref.uid)
    throw refuse(
      `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
    );
  if ((pod.spec as { nodeName?: string } | undefined)?.nodeName !== node)
    throw refuse('node requested token bound to a pod scheduled on a different node');
}
