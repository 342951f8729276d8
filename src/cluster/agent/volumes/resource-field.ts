/**
 * The downward API's `resourceFieldRef`: a container's request or limit, divided by the
 * divisor and rounded up, as the kubelet computes it. A limit the container does not set is
 * the node's allocatable (what the container could use at most).
 */
import type { KubeObject } from '../../client/kube-client.js';
import { parseQuantity } from '../../scheduler/quantity.js';
import { VolumeError } from './volume-error.js';

export interface ResourceFieldRef {
  containerName?: string;
  resource: string;
  divisor?: string;
}

/** `ref`'s value for `pod`; the node's `allocatable` stands in for unset limits. */
export function resourceFieldValue(
  pod: KubeObject,
  ref: ResourceFieldRef,
  allocatable: () => Record<string, string | undefined>,
): string {
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])] as {
    name: string;
    resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
  }[];
  const c = ref.containerName ? containers.find((x) => x.name === ref.containerName) : containers[0];
  if (!c)
    throw new VolumeError(
      `resourceFieldRef names container "${ref.containerName}", which the pod does not have`,
    );
  const m = /^(limits|requests)\.(cpu|memory|ephemeral-storage)$/.exec(ref.resource);
  if (!m) throw new VolumeError(`unsupported resourceFieldRef resource "${ref.resource}"`);
  const [, kind, name] = m as unknown as [string, 'limits' | 'requests', string];
  let q = c.resources?.[kind]?.[name];
  // A request defaults to the limit; an unset limit is what the node can give.
  if (q === undefined && kind === 'requests') q = c.resources?.limits?.[name];
  if (q === undefined && kind === 'limits') q = allocatable()[name];
  const divisor = parseQuantity(ref.divisor ?? '1') || 1;
  const value = parseQuantity(q ?? '0');
  // Round up after dividing, at a millicore's precision for CPU, as the kubelet does.
  const ratio = name === 'cpu' ? Math.round(value * 1000) / Math.round(divisor * 1000) : value / divisor;
  return String(Math.ceil(ratio - 1e-9));
}
