/**
 * NodeRestriction admission (upstream's plugin), for writes by a node (`system:node:NAME` in
 * `system:nodes`): it may create or change only its own Node and its own Lease, may not set or
 * change labels under `node-restriction.kubernetes.io/` (the prefix admins use to steer
 * workloads to nodes they vouch for), and may write the status of only the pods bound to it.
 * What it may do at all is the Node authorizer's business (authz/node-authorizer.ts).
 */
import type { KubeObject } from '../../api/selectors.js';
import { nodeIdentity } from '../authz/node-authorizer.js';
import { type AdmissionPlugin, type AdmissionRequest, forbidden, isCore } from './chain.js';

const restrictedPrefix = 'node-restriction.kubernetes.io/';

const isRestricted = (label: string) => {
  const prefix = label.includes('/') ? label.slice(0, label.indexOf('/')) : '';
  return prefix === 'node-restriction.kubernetes.io' || prefix.endsWith(`.${restrictedPrefix.slice(0, -1)}`);
};

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
        const bound = (o: KubeObject | undefined) => (o?.spec as { nodeName?: string } | undefined)?.nodeName;
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
  };
}
