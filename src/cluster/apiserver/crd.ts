/** Turns a CustomResourceDefinition into the resources it serves (one per served version). */
import { crdStoragePrefix } from '../api/crd-validation.js';
import type { ResourceInfo, ResourceRegistry } from '../api/resources.js';
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

/**
 * The resources a CRD serves. None for a CRD that names no group and plural of its own: one
 * stored before CRDs were validated may name a built-in (`deployments.apps`), and must not
 * shadow it.
 */
export function crdResources(crd: KubeObject): ResourceInfo[] {
  const spec = (crd.spec ?? {}) as CrdSpec;
  const n = spec.names ?? {};
  if (!spec.group || !n.kind || !n.plural || !crdStoragePrefix(crd)) return [];
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

/**
 * Serves what `crd` defines in place of what `old` did. Built-in resources are never replaced
 * or removed, and a kind another CRD already serves in the same group version stays with it
 * (upstream leaves the later CRD's names unaccepted).
 */
export function syncCrdResources(
  registry: ResourceRegistry,
  crd: KubeObject | undefined,
  old: KubeObject | undefined,
): void {
  for (const r of old ? crdResources(old) : [])
    if (registry.get(r.group, r.version, r.plural)?.custom) registry.remove(r.group, r.version, r.plural);
  for (const r of crd ? crdResources(crd) : []) {
    const cur = registry.get(r.group, r.version, r.plural);
    const sameKind = registry.forKind(`${r.group}/${r.version}`, r.kind);
    if ((!cur || cur.custom) && (!sameKind || sameKind.plural === r.plural)) registry.add(r);
  }
}
