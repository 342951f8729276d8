/**
 * The `default/kubernetes` Service (the first address of --service-cidr, 10.43.0.1, port 443) and where it leads: the API server's
 * advertised address, written at every start as an Endpoints object and an EndpointSlice
 * (what the Service proxies read), as upstream's endpoint reconciler keeps them. A server
 * that comes back on another address rewrites both, so pods follow it.
 */
import { unlessNotFound } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import type { ResourceInfo, ResourceRegistry } from '../api/resources.js';
import type { KubeObject } from '../api/selectors.js';
import type { RestStorage } from './rest.js';

const log = logger('apiserver');

/** Creates `body`, or replaces the stored one's `field` when it says something else. */
async function ensureField(
  rest: RestStorage,
  info: ResourceInfo | undefined,
  body: KubeObject,
  fields: readonly string[],
): Promise<void> {
  if (!info) return;
  const name = body.metadata?.name ?? '';
  const cur = await unlessNotFound(rest.get(info, 'default', name));
  if (!cur) return rest.ensure(info, 'default', body);
  if (fields.every((f) => JSON.stringify(cur[f]) === JSON.stringify(body[f]))) return;
  await rest.update(
    info,
    'default',
    name,
    { ...cur, ...Object.fromEntries(fields.map((f) => [f, body[f]])) },
    {},
  );
}

/**
 * Makes the Service (at `serviceIP`) if missing and points its Endpoints and EndpointSlice at
 * `address:port`. A Service kept from a start with another --service-cidr keeps its address
 * (a ClusterIP cannot change), as upstream leaves it; a warning says how to move it.
 */
export async function ensureKubernetesService(
  registry: ResourceRegistry,
  rest: RestStorage,
  { address, port, serviceIP }: { address: string; port: number; serviceIP: string },
): Promise<void> {
  const svcInfo = registry.get('', 'v1', 'services');
  if (svcInfo) {
    await rest.ensure(svcInfo, 'default', {
      metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: {
        clusterIP: serviceIP,
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }],
      },
    });
    const cur = await rest.get(svcInfo, 'default', 'kubernetes');
    const clusterIP = (cur.spec as { clusterIP?: string } | undefined)?.clusterIP;
    if (clusterIP !== serviceIP)
      log.warn(
        'the kubernetes Service has an address outside --service-cidr; delete it (kubectl delete service kubernetes) and restart the server to move it',
        { clusterIP, wanted: serviceIP },
      );
  }
  await ensureField(
    rest,
    registry.get('', 'v1', 'endpoints'),
    {
      metadata: { name: 'kubernetes', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
      subsets: [{ addresses: [{ ip: address }], ports: [{ name: 'https', port, protocol: 'TCP' }] }],
    },
    ['subsets'],
  );
  await ensureField(
    rest,
    registry.get('discovery.k8s.io', 'v1', 'endpointslices'),
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'kubernetes', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [address], conditions: { ready: true } }],
      ports: [{ name: 'https', port, protocol: 'TCP' }],
    },
    ['endpoints', 'ports'],
  );
}
