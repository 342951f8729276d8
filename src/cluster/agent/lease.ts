/**
 * A node's heartbeat Lease in `kube-node-lease` (the kubelet's node lease controller):
 * renewed every 10 s, made when missing, owned by its Node so it goes with it.
 */
import { isNotFound } from '../../core/errors.js';
import { type KubeClient, type KubeObject, Resources } from '../client/kube-client.js';

/** Lease times are MicroTime: RFC 3339 with microseconds. */
const microNow = () => new Date().toISOString().replace('Z', '000Z');

export async function renewNodeLease(client: KubeClient, node: string, nodeUid?: string): Promise<void> {
  try {
    const cur = await client.get(Resources.leases, 'kube-node-lease', node);
    await client.update(Resources.leases, { ...cur, spec: { ...cur.spec, renewTime: microNow() } });
  } catch (e) {
    if (!isNotFound(e)) throw e;
    const lease: KubeObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: node,
        namespace: 'kube-node-lease',
        ...(nodeUid
          ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node, uid: nodeUid }] }
          : {}),
      },
      spec: { holderIdentity: node, leaseDurationSeconds: 40, renewTime: microNow() },
    };
    await client.create(Resources.leases, 'kube-node-lease', lease);
  }
}
