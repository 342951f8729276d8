/**
 * v1 ComponentStatus (`kubectl get componentstatuses`, `cs`), deprecated upstream but still
 * served: `scheduler` and `controller-manager` are healthy while the control plane holds its
 * Lease (both run under it, docs/apiserver.md), `etcd-0` while the datastore answers.
 * Read-only, computed at each request, as upstream probes each component then.
 */
import type { ResourceInfo } from '../api/resources.js';
import type { KubeObject } from '../api/selectors.js';
import { notFoundError } from '../api/status.js';

export const componentStatusResource: ResourceInfo = {
  group: '',
  version: 'v1',
  kind: 'ComponentStatus',
  plural: 'componentstatuses',
  singular: 'componentstatus',
  namespaced: false,
  shortNames: ['cs'],
  verbs: ['get', 'list'],
};

/** The warning upstream sends with every ComponentStatus read. */
export const componentStatusWarning = 'v1 ComponentStatus is deprecated in v1.19+';

export interface ComponentProbes {
  /** The control plane's Lease (kube-system/berth-controller-manager), or undefined. */
  lease(): Promise<KubeObject | undefined>;
  /** Resolves when the datastore answers a read. */
  datastore(): Promise<void>;
  now?: () => number;
}

const LEASE = 'kube-system/berth-controller-manager';

/** A component's object: one Healthy condition, with upstream's message or error. */
function component(name: string, error: string | undefined, message = 'ok'): KubeObject {
  return {
    kind: 'ComponentStatus',
    apiVersion: 'v1',
    metadata: { name },
    conditions: [
      error
        ? { type: 'Healthy', status: 'False', message: '', error }
        : { type: 'Healthy', status: 'True', message },
    ],
  } as KubeObject;
}

export interface ComponentStatusList {
  kind: 'ComponentStatusList';
  apiVersion: 'v1';
  metadata: object;
  items: KubeObject[];
}

export class ComponentStatuses {
  constructor(private readonly probes: ComponentProbes) {}

  private async controlPlaneError(): Promise<string | undefined> {
    const lease = await this.probes.lease();
    const spec = (lease?.spec ?? {}) as {
      holderIdentity?: string;
      renewTime?: string;
      leaseDurationSeconds?: number;
    };
    if (!spec.holderIdentity) return `the control plane's Lease ${LEASE} is not held`;
    const now = (this.probes.now ?? Date.now)();
    const renewed = Date.parse(spec.renewTime ?? '') || 0;
    if (renewed + (spec.leaseDurationSeconds ?? 15) * 1000 < now)
      return `the control plane's Lease ${LEASE} was last renewed at ${spec.renewTime}`;
    return undefined;
  }

  async list(): Promise<KubeObject[]> {
    const plane = await this.controlPlaneError();
    const store = await this.probes.datastore().then(
      () => undefined,
      (e: Error) => `the datastore does not answer: ${e.message}`,
    );
    return [
      component('scheduler', plane),
      component('controller-manager', plane),
      component('etcd-0', store, '{"health":"true","reason":""}'),
    ];
  }

  /** GET of the list, or of one component by name (404 for another name). */
  async get(name: string | undefined): Promise<KubeObject | ComponentStatusList> {
    const items = await this.list();
    if (!name) return { kind: 'ComponentStatusList', apiVersion: 'v1', metadata: {}, items };
    const one = items.find((c) => c.metadata?.name === name);
    if (!one) throw notFoundError({ group: '', resource: 'componentstatuses', name });
    return one;
  }
}
