/**
 * The resource registry: every kind the API server serves, described once. Discovery, the
 * REST handlers, storage keys, tables and OpenAPI all read it. Custom resources are added
 * and removed at run time when CustomResourceDefinitions change.
 */

/** One served resource (a plural name under one group/version). */
export interface ResourceInfo {
  /** API group; '' for the core group. */
  group: string;
  version: string;
  kind: string;
  /** The URL and storage name, lower case plural (`deployments`). */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Subresources served beside the main one: `status`, `scale`, `binding`. */
  subresources?: string[];
  /** Whether this is a custom resource defined by a CRD. */
  custom?: boolean;
  /** A review resource that is only created and answered, never stored (TokenReview, ...). */
  virtual?: boolean;
  /** The verbs served, when not the stored resources' full set (metrics.k8s.io: get, list). */
  verbs?: string[];
  /** Printer columns of a CRD (`additionalPrinterColumns`). */
  printerColumns?: {
    name: string;
    type: string;
    jsonPath: string;
    description?: string;
    priority?: number;
  }[];
}

/** `group/version`, or just `version` for the core group: an object's apiVersion. */
export const apiVersionOf = (r: Pick<ResourceInfo, 'group' | 'version'>): string =>
  r.group ? `${r.group}/${r.version}` : r.version;

/**
 * Whether a resource keeps `metadata.generation` (bumped on spec changes): custom resources
 * and the kinds with a spec/status split outside the core group. Core kinds (ConfigMap,
 * Service, Pod in 1.32, ...) carry no generation upstream.
 */
export const tracksGeneration = (r: ResourceInfo): boolean =>
  !!r.custom ||
  ['apps', 'batch', 'autoscaling', 'policy', 'networking.k8s.io', 'apiextensions.k8s.io'].includes(r.group);

type Def = [
  kind: string,
  plural: string,
  namespaced: boolean,
  short?: string[],
  cats?: string[],
  subs?: string[],
];

const all = ['all'];
const groups: Record<string, Def[]> = {
  v1: [
    ['Namespace', 'namespaces', false, ['ns'], undefined, ['status', 'finalize']],
    [
      'Pod',
      'pods',
      true,
      ['po'],
      all,
      [
        'status',
        'binding',
        'eviction',
        'log',
        'exec',
        'attach',
        'portforward',
        'proxy',
        'ephemeralcontainers',
      ],
    ],
    ['Service', 'services', true, ['svc'], all, ['status', 'proxy']],
    ['Endpoints', 'endpoints', true, ['ep']],
    ['ConfigMap', 'configmaps', true, ['cm']],
    ['Secret', 'secrets', true],
    ['ServiceAccount', 'serviceaccounts', true, ['sa'], undefined, ['token']],
    ['Node', 'nodes', false, ['no'], undefined, ['status']],
    ['Event', 'events', true, ['ev']],
    ['PersistentVolume', 'persistentvolumes', false, ['pv'], undefined, ['status']],
    ['PersistentVolumeClaim', 'persistentvolumeclaims', true, ['pvc'], undefined, ['status']],
    ['LimitRange', 'limitranges', true, ['limits']],
    ['ResourceQuota', 'resourcequotas', true, ['quota'], undefined, ['status']],
  ],
  'apps/v1': [
    ['Deployment', 'deployments', true, ['deploy'], all, ['status', 'scale']],
    ['ReplicaSet', 'replicasets', true, ['rs'], all, ['status', 'scale']],
    ['StatefulSet', 'statefulsets', true, ['sts'], all, ['status', 'scale']],
    ['DaemonSet', 'daemonsets', true, ['ds'], all, ['status']],
    ['ControllerRevision', 'controllerrevisions', true],
  ],
  'batch/v1': [
    ['Job', 'jobs', true, undefined, all, ['status']],
    ['CronJob', 'cronjobs', true, ['cj'], all, ['status']],
  ],
  'networking.k8s.io/v1': [
    ['Ingress', 'ingresses', true, ['ing'], undefined, ['status']],
    ['IngressClass', 'ingressclasses', false],
    ['NetworkPolicy', 'networkpolicies', true, ['netpol']],
  ],
  'storage.k8s.io/v1': [['StorageClass', 'storageclasses', false, ['sc']]],
  'scheduling.k8s.io/v1': [['PriorityClass', 'priorityclasses', false, ['pc']]],
  'coordination.k8s.io/v1': [['Lease', 'leases', true]],
  'policy/v1': [['PodDisruptionBudget', 'poddisruptionbudgets', true, ['pdb'], undefined, ['status']]],
  'discovery.k8s.io/v1': [['EndpointSlice', 'endpointslices', true]],
  'autoscaling/v2': [['HorizontalPodAutoscaler', 'horizontalpodautoscalers', true, ['hpa'], all, ['status']]],
  'autoscaling/v1': [['HorizontalPodAutoscaler', 'horizontalpodautoscalers', true, ['hpa'], all, ['status']]],
  'authentication.k8s.io/v1': [
    ['TokenReview', 'tokenreviews', false],
    ['SelfSubjectReview', 'selfsubjectreviews', false],
  ],
  'authorization.k8s.io/v1': [
    ['SelfSubjectAccessReview', 'selfsubjectaccessreviews', false],
    ['SubjectAccessReview', 'subjectaccessreviews', false],
    ['LocalSubjectAccessReview', 'localsubjectaccessreviews', true],
    ['SelfSubjectRulesReview', 'selfsubjectrulesreviews', false],
  ],
  'rbac.authorization.k8s.io/v1': [
    ['ClusterRole', 'clusterroles', false],
    ['ClusterRoleBinding', 'clusterrolebindings', false],
    ['Role', 'roles', true],
    ['RoleBinding', 'rolebindings', true],
  ],
  'certificates.k8s.io/v1': [
    [
      'CertificateSigningRequest',
      'certificatesigningrequests',
      false,
      ['csr'],
      undefined,
      ['status', 'approval'],
    ],
  ],
  'apiextensions.k8s.io/v1': [
    ['CustomResourceDefinition', 'customresourcedefinitions', false, ['crd', 'crds'], undefined, ['status']],
  ],
};

/** The built-in resources, in discovery order. */
export function builtinResources(): ResourceInfo[] {
  const out: ResourceInfo[] = [];
  for (const [gv, defs] of Object.entries(groups)) {
    const [group, version] = gv.includes('/') ? (gv.split('/') as [string, string]) : ['', gv];
    for (const [kind, plural, namespaced, shortNames, categories, subresources] of defs) {
      out.push({
        group,
        version,
        kind,
        plural,
        singular: kind.toLowerCase(),
        namespaced,
        ...(shortNames ? { shortNames } : {}),
        ...(categories ? { categories } : {}),
        ...(subresources ? { subresources } : {}),
        ...(group.startsWith('authentication.') || group.startsWith('authorization.')
          ? { virtual: true }
          : {}),
      });
    }
  }
  return out;
}

/**
 * The registry: lookups by URL (group, version, plural) and by apiVersion + kind. The
 * storage key of a resource ignores the version, so autoscaling/v1 and v2 share objects.
 */
export class ResourceRegistry {
  private byPath = new Map<string, ResourceInfo>();
  private byKind = new Map<string, ResourceInfo>();
  private ordered: ResourceInfo[] = [];

  constructor(resources: ResourceInfo[] = builtinResources()) {
    for (const r of resources) this.add(r);
  }

  add(r: ResourceInfo): void {
    this.remove(r.group, r.version, r.plural);
    this.byPath.set(`${r.group}/${r.version}/${r.plural}`, r);
    this.byKind.set(`${apiVersionOf(r)}/${r.kind}`, r);
    this.ordered.push(r);
  }

  remove(group: string, version: string, plural: string): void {
    const r = this.byPath.get(`${group}/${version}/${plural}`);
    if (!r) return;
    this.byPath.delete(`${group}/${version}/${plural}`);
    this.byKind.delete(`${apiVersionOf(r)}/${r.kind}`);
    this.ordered = this.ordered.filter((x) => x !== r);
  }

  get(group: string, version: string, plural: string): ResourceInfo | undefined {
    return this.byPath.get(`${group}/${version}/${plural}`);
  }

  forKind(apiVersion: string, kind: string): ResourceInfo | undefined {
    return this.byKind.get(`${apiVersion}/${kind}`);
  }

  list(): readonly ResourceInfo[] {
    return this.ordered;
  }

  /** Group names with their versions, the preferred (first registered) first; '' is core. */
  groups(): Map<string, string[]> {
    const m = new Map<string, string[]>();
    for (const r of this.ordered) {
      const vs = m.get(r.group) ?? [];
      if (!vs.includes(r.version)) vs.push(r.version);
      m.set(r.group, vs);
    }
    return m;
  }
}
