/** Turns a CustomResourceDefinition into the resources it serves (one per served version). */
import type { ResourceInfo } from '../api/resources.js';
import type { KubeObject } from '../api/selectors.js';

interface CrdSpec {
  group?: string;
  scope?: string;
  names?: { kind?: string; plural?: string; singular?: string; shortNames?: string[]; categories?: string[] };
  versions?: {
    name: string;
    served?: boolean;
    subresources?: { status?: object; scale?: object };
    additionalPrinterColumns?: {
      name: string;
      type: string;
      jsonPath: string;
      description?: string;
      priority?: number;
    }[];
  }[];
}

export function crdResources(crd: KubeObject): ResourceInfo[] {
  const spec = (crd.spec ?? {}) as CrdSpec;
  const n = spec.names ?? {};
  if (!spec.group || !n.kind || !n.plural) return [];
  return (spec.versions ?? [])
    .filter((v) => v.served !== false)
    .map((v) => ({
      group: spec.group as string,
      version: v.name,
      kind: n.kind as string,
      plural: n.plural as string,
      singular: n.singular ?? (n.kind as string).toLowerCase(),
      namespaced: spec.scope !== 'Cluster',
      custom: true,
      ...(n.shortNames ? { shortNames: n.shortNames } : {}),
      ...(n.categories ? { categories: n.categories } : {}),
      subresources: [
        ...(v.subresources?.status ? ['status'] : []),
        ...(v.subresources?.scale ? ['scale'] : []),
      ],
      ...(v.additionalPrinterColumns ? { printerColumns: v.additionalPrinterColumns } : {}),
    }));
}
