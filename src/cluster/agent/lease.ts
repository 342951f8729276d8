/**
 * Nodes' heartbeat Leases in `kube-node-lease` (the kubelet's node lease controller):
 * renewed every 10 s, made when missing, owned by their Node so they go with it.
 */
import { isNotFound } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { metaMicroTime } from '../api/meta-time.js';
import { type KubeClient, type KubeObject, Resources } from '../client/kube-client.js';

const log = logger('lease');

/** Lease times are MicroTime: RFC 3339 with microseconds. */

/**
 * Renews the Leases of one or many nodes. Like the kubelet, it keeps the Lease each renewal
 * returned and updates that one the next time, one call a beat instead of a read and a
 * write (a thousand simulated nodes made 100 reads a second); when that update fails
 * (someone else wrote the Lease, or it is gone) it reads the Lease again, or makes it.
 */
export class NodeLeases {
  private readonly latest = new Map<string, KubeObject>();

  constructor(private readonly client: KubeClient) {}

  async renew(node: string, nodeUid?: string): Promise<void> {
    const last = this.latest.get(node);
    this.latest.delete(node);
    if (last) {
      try {
        this.latest.set(node, await this.update(last));
        return;
      } catch (e) {
        // A conflict or a deleted Lease: read it (or make it) as on the first beat.
        log.debug('lease update failed; reading it again', { node, err: e as Error });
      }
    }
    this.latest.set(node, await this.ensure(node, nodeUid));
  }

  private update(cur: KubeObject): Promise<KubeObject> {
    return this.client.update(Resources.leases, {
      ...cur,
      spec: { ...cur.spec, renewTime: metaMicroTime() },
    });
  }

  private async ensure(node: string, nodeUid?: string): Promise<KubeObject> {
    try {
      return await this.update(await this.client.get(Resources.leases, 'kube-node-lease', node));
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
        spec: { holderIdentity: node, leaseDurationSeconds: 40, renewTime: metaMicroTime() },
      };
      return await this.client.create(Resources.leases, 'kube-node-lease', lease);
    }
  }
}
