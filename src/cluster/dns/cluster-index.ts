/**
 * What the cluster DNS reads, as indexed caches: Services by namespace/name and by cluster
 * IP, EndpointSlices by their Service and by address. The agent feeds it from informers
 * (Informer satisfies {@link ObjectIndex}); tests feed it fixture objects. No query lists.
 */
import type { KubeObject } from '../client/kube-client.js';

/** The part of an informer the resolver reads: a key lookup and its indexes. */
export interface ObjectIndex {
  get(key: string): KubeObject | undefined;
  byIndex(name: string, value: string): KubeObject[];
}

/** The Service an EndpointSlice belongs to (its `kubernetes.io/service-name` label). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Index functions the resolver needs, by resource and index name. */
export const serviceIndexes = {
  /** Each cluster IP (not `None`). */
  clusterIP: (o: KubeObject): string[] =>
    (
      (o.spec?.clusterIPs as string[] | undefined) ?? (o.spec?.clusterIP ? [o.spec.clusterIP as string] : [])
    ).filter((ip) => ip && ip !== 'None'),
  namespace: (o: KubeObject): string[] => [o.metadata.namespace ?? ''],
};

export const sliceIndexes = {
  /** `namespace/service`. */
  service: (o: KubeObject): string[] => {
    const svc = o.metadata.labels?.[SERVICE_NAME_LABEL];
    return svc ? [`${o.metadata.namespace}/${svc}`] : [];
  },
  /** Each endpoint address. */
  address: (o: KubeObject): string[] =>
    ((o.endpoints as { addresses?: string[] }[] | undefined) ?? []).flatMap((e) => e.addresses ?? []),
};

/** The caches the resolver answers from. */
export interface ClusterIndex {
  services: ObjectIndex;
  slices: ObjectIndex;
}

/** An in-memory index of fixed objects with the same index functions (tests, the benchmark). */
export class FixedIndex implements ObjectIndex {
  private readonly byKey = new Map<string, KubeObject>();
  private readonly indexes = new Map<string, Map<string, KubeObject[]>>();

  constructor(objects: KubeObject[], fns: Record<string, (o: KubeObject) => string[]>) {
    for (const o of objects) this.byKey.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
    for (const [name, fn] of Object.entries(fns)) {
      const idx = new Map<string, KubeObject[]>();
      for (const o of objects) for (const v of fn(o)) idx.set(v, [...(idx.get(v) ?? []), o]);
      this.indexes.set(name, idx);
    }
  }

  get(key: string): KubeObject | undefined {
    return this.byKey.get(key);
  }

  byIndex(name: string, value: string): KubeObject[] {
    return this.indexes.get(name)?.get(value) ?? [];
  }
}

/** A ClusterIndex over fixed Services and EndpointSlices. */
export function fixedClusterIndex(services: KubeObject[], slices: KubeObject[]): ClusterIndex {
  return { services: new FixedIndex(services, serviceIndexes), slices: new FixedIndex(slices, sliceIndexes) };
}
