/**
 * The built-in kinds' fields, to check unknown fields under fieldValidation=Strict and to
 * publish nested OpenAPI schemas for `kubectl explain`: from the catalogue the build derives
 * (k8s-catalogue.ts), every field of every built-in type with descriptions; without it (the
 * sources never built) from the compact table below, which covers the common kinds. A type
 * is a scalar (`string`, `integer`, `boolean`), `map` (string values), `object` (free-form,
 * not checked), `IntOrString`, another type's name, or any of these with a leading `[]`.
 * Kinds not listed have free-form spec/status.
 */
import { catalogue, modelName } from './k8s-catalogue.js';

type Fields = Record<string, string>;

const meta: Fields = {
  name: 'string',
  generateName: 'string',
  namespace: 'string',
  selfLink: 'string',
  uid: 'string',
  resourceVersion: 'string',
  generation: 'integer',
  creationTimestamp: 'string',
  deletionTimestamp: 'string',
  deletionGracePeriodSeconds: 'integer',
  labels: 'map',
  annotations: 'map',
  ownerReferences: '[]object',
  finalizers: '[]string',
  managedFields: '[]object',
};

const top = (extra: Fields): Fields => ({
  apiVersion: 'string',
  kind: 'string',
  metadata: 'ObjectMeta',
  ...extra,
});

export const types: Record<string, Fields> = {
  ObjectMeta: meta,
  Pod: top({ spec: 'PodSpec', status: 'object' }),
  PodTemplateSpec: { metadata: 'ObjectMeta', spec: 'PodSpec' },
  PodSpec: {
    volumes: '[]object',
    initContainers: '[]Container',
    containers: '[]Container',
    ephemeralContainers: '[]object',
    restartPolicy: 'string',
    terminationGracePeriodSeconds: 'integer',
    activeDeadlineSeconds: 'integer',
    dnsPolicy: 'string',
    nodeSelector: 'map',
    serviceAccountName: 'string',
    serviceAccount: 'string',
    automountServiceAccountToken: 'boolean',
    nodeName: 'string',
    hostNetwork: 'boolean',
    hostPID: 'boolean',
    hostIPC: 'boolean',
    shareProcessNamespace: 'boolean',
    securityContext: 'object',
    imagePullSecrets: '[]object',
    hostname: 'string',
    subdomain: 'string',
    affinity: 'object',
    schedulerName: 'string',
    tolerations: '[]object',
    hostAliases: '[]object',
    priorityClassName: 'string',
    priority: 'integer',
    dnsConfig: 'object',
    readinessGates: '[]object',
    runtimeClassName: 'string',
    enableServiceLinks: 'boolean',
    preemptionPolicy: 'string',
    overhead: 'object',
    topologySpreadConstraints: '[]object',
    setHostnameAsFQDN: 'boolean',
    os: 'object',
    hostUsers: 'boolean',
    schedulingGates: '[]object',
    resourceClaims: '[]object',
    resources: 'object',
  },
  Container: {
    name: 'string',
    image: 'string',
    command: '[]string',
    args: '[]string',
    workingDir: 'string',
    ports: '[]ContainerPort',
    envFrom: '[]object',
    env: '[]EnvVar',
    resources: 'object',
    resizePolicy: '[]object',
    restartPolicy: 'string',
    volumeMounts: '[]VolumeMount',
    volumeDevices: '[]object',
    livenessProbe: 'object',
    readinessProbe: 'object',
    startupProbe: 'object',
    lifecycle: 'object',
    terminationMessagePath: 'string',
    terminationMessagePolicy: 'string',
    imagePullPolicy: 'string',
    securityContext: 'object',
    stdin: 'boolean',
    stdinOnce: 'boolean',
    tty: 'boolean',
  },
  ContainerPort: {
    name: 'string',
    hostPort: 'integer',
    containerPort: 'integer',
    protocol: 'string',
    hostIP: 'string',
  },
  EnvVar: { name: 'string', value: 'string', valueFrom: 'object' },
  VolumeMount: {
    name: 'string',
    readOnly: 'boolean',
    recursiveReadOnly: 'string',
    mountPath: 'string',
    subPath: 'string',
    mountPropagation: 'string',
    subPathExpr: 'string',
  },
  LabelSelector: { matchLabels: 'map', matchExpressions: '[]object' },
  Deployment: top({ spec: 'DeploymentSpec', status: 'object' }),
  DeploymentSpec: {
    replicas: 'integer',
    selector: 'LabelSelector',
    template: 'PodTemplateSpec',
    strategy: 'object',
    minReadySeconds: 'integer',
    revisionHistoryLimit: 'integer',
    paused: 'boolean',
    progressDeadlineSeconds: 'integer',
  },
  ReplicaSet: top({ spec: 'ReplicaSetSpec', status: 'object' }),
  ReplicaSetSpec: {
    replicas: 'integer',
    minReadySeconds: 'integer',
    selector: 'LabelSelector',
    template: 'PodTemplateSpec',
  },
  StatefulSet: top({ spec: 'StatefulSetSpec', status: 'object' }),
  StatefulSetSpec: {
    replicas: 'integer',
    selector: 'LabelSelector',
    template: 'PodTemplateSpec',
    volumeClaimTemplates: '[]object',
    serviceName: 'string',
    podManagementPolicy: 'string',
    updateStrategy: 'object',
    revisionHistoryLimit: 'integer',
    minReadySeconds: 'integer',
    persistentVolumeClaimRetentionPolicy: 'object',
    ordinals: 'object',
  },
  DaemonSet: top({ spec: 'DaemonSetSpec', status: 'object' }),
  DaemonSetSpec: {
    selector: 'LabelSelector',
    template: 'PodTemplateSpec',
    updateStrategy: 'object',
    minReadySeconds: 'integer',
    revisionHistoryLimit: 'integer',
  },
  Job: top({ spec: 'JobSpec', status: 'object' }),
  JobSpec: {
    parallelism: 'integer',
    completions: 'integer',
    activeDeadlineSeconds: 'integer',
    podFailurePolicy: 'object',
    successPolicy: 'object',
    backoffLimit: 'integer',
    backoffLimitPerIndex: 'integer',
    maxFailedIndexes: 'integer',
    selector: 'LabelSelector',
    manualSelector: 'boolean',
    template: 'PodTemplateSpec',
    ttlSecondsAfterFinished: 'integer',
    completionMode: 'string',
    suspend: 'boolean',
    podReplacementPolicy: 'string',
    managedBy: 'string',
  },
  CronJob: top({ spec: 'CronJobSpec', status: 'object' }),
  CronJobSpec: {
    schedule: 'string',
    timeZone: 'string',
    startingDeadlineSeconds: 'integer',
    concurrencyPolicy: 'string',
    suspend: 'boolean',
    jobTemplate: 'JobTemplateSpec',
    successfulJobsHistoryLimit: 'integer',
    failedJobsHistoryLimit: 'integer',
  },
  JobTemplateSpec: { metadata: 'ObjectMeta', spec: 'JobSpec' },
  PriorityClass: top({
    value: 'integer',
    globalDefault: 'boolean',
    description: 'string',
    preemptionPolicy: 'string',
  }),
  Service: top({ spec: 'ServiceSpec', status: 'object' }),
  ServiceSpec: {
    ports: '[]ServicePort',
    selector: 'map',
    clusterIP: 'string',
    clusterIPs: '[]string',
    type: 'string',
    externalIPs: '[]string',
    sessionAffinity: 'string',
    loadBalancerIP: 'string',
    loadBalancerSourceRanges: '[]string',
    externalName: 'string',
    externalTrafficPolicy: 'string',
    healthCheckNodePort: 'integer',
    publishNotReadyAddresses: 'boolean',
    sessionAffinityConfig: 'object',
    ipFamilies: '[]string',
    ipFamilyPolicy: 'string',
    allocateLoadBalancerNodePorts: 'boolean',
    loadBalancerClass: 'string',
    internalTrafficPolicy: 'string',
    trafficDistribution: 'string',
  },
  ServicePort: {
    name: 'string',
    protocol: 'string',
    appProtocol: 'string',
    port: 'integer',
    targetPort: 'IntOrString',
    nodePort: 'integer',
  },
  ConfigMap: top({ data: 'map', binaryData: 'map', immutable: 'boolean' }),
  Role: top({ rules: '[]PolicyRule' }),
  ClusterRole: top({ rules: '[]PolicyRule', aggregationRule: 'AggregationRule' }),
  AggregationRule: { clusterRoleSelectors: '[]object' },
  PolicyRule: {
    verbs: '[]string',
    apiGroups: '[]string',
    resources: '[]string',
    resourceNames: '[]string',
    nonResourceURLs: '[]string',
  },
  RoleBinding: top({ roleRef: 'RoleRef', subjects: '[]Subject' }),
  ClusterRoleBinding: top({ roleRef: 'RoleRef', subjects: '[]Subject' }),
  RoleRef: { apiGroup: 'string', kind: 'string', name: 'string' },
  Subject: { kind: 'string', apiGroup: 'string', name: 'string', namespace: 'string' },
  Secret: top({ data: 'map', stringData: 'map', type: 'string', immutable: 'boolean' }),
};

const scalars = new Set(['string', 'integer', 'number', 'boolean', 'map', 'object', 'IntOrString']);

/** The type of `typeName`'s field `field`, from the catalogue when built, else the table above. */
export function fieldTypeOf(typeName: string, field: string): string | undefined {
  const c = catalogue();
  const fields = c ? c.types[typeName]?.fields : types[typeName];
  if (!fields || !Object.hasOwn(fields, field)) return undefined;
  const t = fields[field];
  return Array.isArray(t) ? t[0] : t;
}

/** Whether the schema describes `typeName`'s fields. */
export const isDescribed = (typeName: string) => {
  const c = catalogue();
  return Boolean(c ? c.types[typeName] : types[typeName]);
};

/** The type name describing a built-in kind, if any. */
export function kindType(group: string, version: string, kind: string): string | undefined {
  const c = catalogue();
  if (c) return modelName(c, group, version, kind);
  return types[kind] ? kind : undefined;
}

/** The types `roots` refer to, themselves included, each once. */
export function referencedTypes(roots: string[]): string[] {
  const seen = new Set<string>();
  const visit = (t: string) => {
    const base = t.replace(/^(\[\]|\{\})+/, '');
    if (scalars.has(base) || seen.has(base) || !isDescribed(base)) return;
    seen.add(base);
    const c = catalogue();
    const fields = c
      ? Object.values(c.types[base]?.fields ?? {}).map((f) => f[0])
      : Object.values(types[base] ?? {});
    for (const f of fields) visit(f);
  };
  for (const r of roots) visit(r);
  return [...seen];
}

/** IntOrString's schema, which the others refer to by name as upstream's do (explain prints it). */
export const intOrStringSchema = {
  type: 'string',
  format: 'int-or-string',
  'x-kubernetes-int-or-string': true,
  description:
    'A value that may be an integer or a string, such as a port number or name, or a count or percentage.',
};

/** The OpenAPI v3 schema of a type, nested, with `$ref`s to the other described types. */
export function openapiSchemaOf(
  typeName: string,
  ref: (t: string) => string,
): Record<string, unknown> | undefined {
  const c = catalogue();
  const entry = c?.types[typeName];
  const fields: Record<string, [string, string?]> | undefined = entry
    ? entry.fields
    : types[typeName] && Object.fromEntries(Object.entries(types[typeName]).map(([k, t]) => [k, [t]]));
  if (!fields) return undefined;
  const prop = (t: string): Record<string, unknown> => {
    if (t.startsWith('[]')) return { type: 'array', items: prop(t.slice(2)) };
    if (t.startsWith('{}')) return { type: 'object', additionalProperties: prop(t.slice(2)) };
    if (t === 'map') return { type: 'object', additionalProperties: { type: 'string' } };
    if (t === 'object') return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    if (scalars.has(t) && t !== 'IntOrString') return { type: t };
    return { allOf: [{ $ref: ref(t) }] };
  };
  const describe = (schema: Record<string, unknown>, d: string | undefined) =>
    d === undefined ? schema : { description: d, ...schema };
  return describe(
    {
      type: 'object',
      ...(entry?.required ? { required: entry.required } : {}),
      properties: Object.fromEntries(
        Object.entries(fields).map(([k, [t, d]]) => [k, { ...describe(prop(t), d), ...entry?.ext?.[k] }]),
      ),
    },
    entry?.description,
  );
}
