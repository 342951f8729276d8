/**
 * The kube-system/kube-dns Service the server keeps (clients and tools look for it by that
 * name): the cluster DNS address on port 53 over UDP and TCP. It selects no pods: every
 * node's agent serves the address itself, and the annotation tells the Service proxy to
 * leave it alone.
 */
import { isAlreadyExists } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { type KubeClient, type KubeObject, Resources } from '../client/kube-client.js';

const log = logger('cluster-dns');

/** Services the Service proxy skips: their address is served on every node by the node itself. */
export const NODE_LOCAL_ANNOTATION = 'berth.dev/node-local';

/** The kube-dns Service for `clusterIP`. */
export function kubeDnsService(clusterIP: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kube-dns',
      namespace: 'kube-system',
      labels: {
        'k8s-app': 'kube-dns',
        'kubernetes.io/cluster-service': 'true',
        'kubernetes.io/name': 'CoreDNS',
      },
      annotations: { [NODE_LOCAL_ANNOTATION]: 'true' },
    },
    spec: {
      clusterIP,
      clusterIPs: [clusterIP],
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
      ],
    },
  };
}

/**
 * Makes the Service if it is missing; one that exists is left as it is (a user may have
 * changed it), with a warning when its address is not the one nodes serve.
 */
export async function ensureKubeDnsService(client: KubeClient, clusterIP: string): Promise<void> {
  try {
    await client.create(Resources.services, 'kube-system', kubeDnsService(clusterIP));
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    const cur = await client.get(Resources.services, 'kube-system', 'kube-dns');
    if (cur.spec?.clusterIP !== clusterIP)
      log.warn('kube-system/kube-dns has another address than --cluster-dns', {
        clusterIP: cur.spec?.clusterIP,
        clusterDns: clusterIP,
      });
  }
}
