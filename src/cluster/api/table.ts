/**
 * Server-side Table output (meta.k8s.io/v1 Table), with Kubernetes' columns for the common
 * kinds, so `kubectl get` prints as it does against upstream. Other kinds get NAME and AGE.
 */
import { arr, type Obj } from './field-values.js';
import { targetsColumn } from './hpa-metrics.js';
import type { ResourceInfo } from './resources.js';
import type { KubeObject } from './selectors.js';
import { age, type Column, firstThree, g, labelsText, selectorText } from './table-cells.js';
import {
  endpointsText,
  eventColumns,
  jobCompletions,
  jobStatus,
  nodeAddress,
  nodeStatus,
  serviceExternalIP,
} from './table-kinds.js';
import { podCells, readinessGates } from './table-pod.js';

const name: Column = { name: 'Name', type: 'string', format: 'name', cell: (o) => g(o, 'metadata.name') };
/** A claim's or a volume's phase; Terminating once deleted while in-use protection holds it. */
const volumePhase: Column = {
  name: 'Status',
  type: 'string',
  cell: (o) => (g(o, 'metadata.deletionTimestamp') ? 'Terminating' : (g(o, 'status.phase') ?? 'Pending')),
};
/** A claim's or a volume's VolumeAttributesClass, and its wide VOLUMEMODE. */
const volumeAttributesClass: Column = {
  name: 'VolumeAttributesClass',
  type: 'string',
  cell: (o) => g(o, 'spec.volumeAttributesClassName') ?? '<unset>',
};
const volumeMode: Column = {
  name: 'VolumeMode',
  type: 'string',
  priority: 1,
  cell: (o) => g(o, 'spec.volumeMode') ?? '<unset>',
};
const ageCol: Column = { name: 'Age', type: 'string', cell: (o) => age(g(o, 'metadata.creationTimestamp')) };
/** A wide SELECTOR column: a LabelSelector at `path`, or with `map` a plain label map (a Service's). */
const selector = (path: string, map = false): Column => ({
  name: 'Selector',
  type: 'string',
  priority: 1,
  cell: (o) => (map ? labelsText(g(o, path)) : selectorText(g(o, path))),
});
/** The wide CONTAINERS and IMAGES columns of a workload whose pod spec is at `spec`. */
const images = (spec = 'spec.template.spec'): Column[] => [
  {
    name: 'Containers',
    type: 'string',
    priority: 1,
    cell: (o) =>
      arr(g(o, `${spec}.containers`))
        .map((c) => c.name)
        .join(','),
  },
  {
    name: 'Images',
    type: 'string',
    priority: 1,
    cell: (o) =>
      arr(g(o, `${spec}.containers`))
        .map((c) => c.image)
        .join(','),
  },
];

const modeShort: Record<string, string> = {
  ReadWriteOnce: 'RWO',
  ReadOnlyMany: 'ROX',
  ReadWriteMany: 'RWX',
  ReadWriteOncePod: 'RWOP',
};
const accessModes = (v: unknown) =>
  Array.isArray(v) ? v.map((m) => modeShort[String(m)] ?? String(m)).join(',') : '';

/** A role's table: upstream prints the creation time, not an age. */
const roleCols: Column[] = [
  name,
  { name: 'Created At', type: 'date', cell: (o) => g(o, 'metadata.creationTimestamp') },
];
/** Subjects of one kind, as `kubectl get rolebinding -o wide` lists them. */
const subjectsCol = (title: string, kind: string): Column => ({
  name: title,
  type: 'string',
  priority: 1,
  cell: (o) =>
    arr(g(o, 'subjects'))
      .filter((s) => s.kind === kind)
      .map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : s.name))
      .join(', '),
});
const bindingCols: Column[] = [
  name,
  { name: 'Role', type: 'string', cell: (o) => `${g(o, 'roleRef.kind')}/${g(o, 'roleRef.name')}` },
  ageCol,
  subjectsCol('Users', 'User'),
  subjectsCol('Groups', 'Group'),
  subjectsCol('ServiceAccounts', 'ServiceAccount'),
];

/** A CSR's state as `kubectl get csr` prints it: its conditions, Issued once signed, else Pending. */
function csrCondition(o: Obj): string {
  const out = arr(g(o, 'status.conditions'))
    .filter((c) => c.status !== 'False')
    .map((c) => String(c.type));
  if (g(o, 'status.certificate')) out.push('Issued');
  return out.length ? out.join(',') : 'Pending';
}
const csrCols: Column[] = [
  name,
  ageCol,
  { name: 'SignerName', type: 'string', cell: (o) => g(o, 'spec.signerName') },
  { name: 'Requestor', type: 'string', cell: (o) => g(o, 'spec.username') },
  {
    name: 'RequestedDuration',
    type: 'string',
    cell: (o) => {
      const s = g(o, 'spec.expirationSeconds');
      return typeof s === 'number' ? age(new Date(Date.now() - s * 1000).toISOString()) : '<none>';
    },
  },
  { name: 'Condition', type: 'string', cell: csrCondition },
];

const columns: Record<string, Column[]> = {
  CertificateSigningRequest: csrCols,
  Role: roleCols,
  ClusterRole: roleCols,
  RoleBinding: bindingCols,
  ClusterRoleBinding: bindingCols,
  Pod: [
    name,
    { name: 'Ready', type: 'string', cell: (o) => podCells(o).ready },
    { name: 'Status', type: 'string', cell: (o) => podCells(o).status },
    { name: 'Restarts', type: 'string', cell: (o) => podCells(o).restarts },
    ageCol,
    {
      name: 'IP',
      type: 'string',
      priority: 1,
      cell: (o) => arr(g(o, 'status.podIPs'))[0]?.ip ?? g(o, 'status.podIP') ?? '<none>',
    },
    { name: 'Node', type: 'string', priority: 1, cell: (o) => g(o, 'spec.nodeName') ?? '<none>' },
    {
      name: 'Nominated Node',
      type: 'string',
      priority: 1,
      cell: (o) => g(o, 'status.nominatedNodeName') ?? '<none>',
    },
    { name: 'Readiness Gates', type: 'string', priority: 1, cell: readinessGates },
  ],
  Deployment: [
    name,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) => `${g(o, 'status.readyReplicas') ?? 0}/${g(o, 'spec.replicas') ?? 0}`,
    },
    { name: 'Up-to-date', type: 'integer', cell: (o) => g(o, 'status.updatedReplicas') ?? 0 },
    { name: 'Available', type: 'integer', cell: (o) => g(o, 'status.availableReplicas') ?? 0 },
    ageCol,
    ...images(),
    selector('spec.selector'),
  ],
  ReplicaSet: [
    name,
    { name: 'Desired', type: 'integer', cell: (o) => g(o, 'spec.replicas') ?? 0 },
    { name: 'Current', type: 'integer', cell: (o) => g(o, 'status.replicas') ?? 0 },
    { name: 'Ready', type: 'integer', cell: (o) => g(o, 'status.readyReplicas') ?? 0 },
    ageCol,
    ...images(),
    selector('spec.selector'),
  ],
  StatefulSet: [
    name,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) => `${g(o, 'status.readyReplicas') ?? 0}/${g(o, 'spec.replicas') ?? 0}`,
    },
    ageCol,
    ...images(),
  ],
  Service: [
    name,
    { name: 'Type', type: 'string', cell: (o) => g(o, 'spec.type') },
    {
      name: 'Cluster-IP',
      type: 'string',
      cell: (o) => (g(o, 'spec.clusterIPs') as string[] | undefined)?.[0] ?? '<none>',
    },
    { name: 'External-IP', type: 'string', cell: serviceExternalIP },
    {
      name: 'Port(s)',
      type: 'string',
      cell: (o) =>
        arr(g(o, 'spec.ports'))
          .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
          .join(',') || '<none>',
    },
    ageCol,
    selector('spec.selector', true),
  ],
  Node: [
    name,
    {
      name: 'Status',
      type: 'string',
      cell: nodeStatus,
    },
    {
      name: 'Roles',
      type: 'string',
      cell: (o) =>
        [
          ...new Set(
            Object.entries((g(o, 'metadata.labels') as Record<string, string>) ?? {}).flatMap(([k, v]) =>
              k.startsWith('node-role.kubernetes.io/') && k.length > 24
                ? [k.slice(24)]
                : k === 'kubernetes.io/role' && v
                  ? [v]
                  : [],
            ),
          ),
        ].join(',') || '<none>',
    },
    ageCol,
    { name: 'Version', type: 'string', cell: (o) => g(o, 'status.nodeInfo.kubeletVersion') ?? '' },
    {
      name: 'Internal-IP',
      type: 'string',
      priority: 1,
      cell: (o) => nodeAddress(o, 'InternalIP'),
    },
    { name: 'External-IP', type: 'string', priority: 1, cell: (o) => nodeAddress(o, 'ExternalIP') },
    ...(
      [
        ['OS-Image', 'osImage'],
        ['Kernel-Version', 'kernelVersion'],
        ['Container-Runtime', 'containerRuntimeVersion'],
      ] as const
    ).map(([title, field]) => ({
      name: title,
      type: 'string',
      priority: 1,
      cell: (o: Obj) => g(o, `status.nodeInfo.${field}`) || '<unknown>',
    })),
  ],
  Endpoints: [name, { name: 'Endpoints', type: 'string', cell: endpointsText }, ageCol],
  EndpointSlice: [
    name,
    { name: 'AddressType', type: 'string', cell: (o) => g(o, 'addressType') },
    {
      name: 'Ports',
      type: 'string',
      cell: (o) => firstThree(arr(g(o, 'ports')).map((p) => String(p.port ?? p.name ?? '*'))),
    },
    {
      name: 'Endpoints',
      type: 'string',
      cell: (o) => firstThree(arr(g(o, 'endpoints')).flatMap((e) => (e.addresses as string[]) ?? [])),
    },
    ageCol,
  ],
  NetworkPolicy: [
    name,
    { name: 'Pod-Selector', type: 'string', cell: (o) => selectorText(g(o, 'spec.podSelector')) },
    ageCol,
  ],
  ControllerRevision: [
    name,
    {
      name: 'Controller',
      type: 'string',
      cell: (o) => {
        const ref = arr(g(o, 'metadata.ownerReferences')).find((r) => r.controller === true);
        if (!ref) return '<none>';
        const group = String(ref.apiVersion ?? '').includes('/')
          ? `.${String(ref.apiVersion).split('/')[0]}`
          : '';
        return `${String(ref.kind).toLowerCase()}${group}/${ref.name}`;
      },
    },
    { name: 'Revision', type: 'integer', cell: (o) => g(o, 'revision') ?? 0 },
    ageCol,
  ],
  IngressClass: [
    name,
    { name: 'Controller', type: 'string', cell: (o) => g(o, 'spec.controller') ?? '' },
    {
      name: 'Parameters',
      type: 'string',
      cell: (o) => {
        const p = g(o, 'spec.parameters') as Obj | undefined;
        return p
          ? `${p.apiGroup ? `${String(p.kind).toLowerCase()}.${p.apiGroup}` : String(p.kind).toLowerCase()}/${p.name}`
          : '<none>';
      },
    },
    ageCol,
  ],
  DaemonSet: [
    name,
    { name: 'Desired', type: 'integer', cell: (o) => g(o, 'status.desiredNumberScheduled') ?? 0 },
    { name: 'Current', type: 'integer', cell: (o) => g(o, 'status.currentNumberScheduled') ?? 0 },
    { name: 'Ready', type: 'integer', cell: (o) => g(o, 'status.numberReady') ?? 0 },
    { name: 'Up-to-date', type: 'integer', cell: (o) => g(o, 'status.updatedNumberScheduled') ?? 0 },
    { name: 'Available', type: 'integer', cell: (o) => g(o, 'status.numberAvailable') ?? 0 },
    {
      name: 'Node Selector',
      type: 'string',
      cell: (o) =>
        Object.entries((g(o, 'spec.template.spec.nodeSelector') as Obj) ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(',') || '<none>',
    },
    ageCol,
    ...images(),
    selector('spec.selector'),
  ],
  CronJob: [
    name,
    { name: 'Schedule', type: 'string', cell: (o) => g(o, 'spec.schedule') },
    { name: 'Timezone', type: 'string', cell: (o) => g(o, 'spec.timeZone') ?? '<none>' },
    { name: 'Suspend', type: 'boolean', cell: (o) => (g(o, 'spec.suspend') ? 'True' : 'False') },
    { name: 'Active', type: 'integer', cell: (o) => arr(g(o, 'status.active')).length },
    {
      name: 'Last Schedule',
      type: 'string',
      cell: (o) => (g(o, 'status.lastScheduleTime') ? age(g(o, 'status.lastScheduleTime')) : '<none>'),
    },
    ageCol,
    ...images('spec.jobTemplate.spec.template.spec'),
    selector('spec.jobTemplate.spec.selector'),
  ],
  Event: eventColumns,
  PersistentVolumeClaim: [
    name,
    volumePhase,
    { name: 'Volume', type: 'string', cell: (o) => g(o, 'spec.volumeName') ?? '' },
    { name: 'Capacity', type: 'string', cell: (o) => g(o, 'status.capacity.storage') ?? '' },
    { name: 'Access Modes', type: 'string', cell: (o) => accessModes(g(o, 'spec.accessModes')) },
    { name: 'StorageClass', type: 'string', cell: (o) => g(o, 'spec.storageClassName') ?? '<unset>' },
    volumeAttributesClass,
    ageCol,
    volumeMode,
  ],
  PersistentVolume: [
    name,
    { name: 'Capacity', type: 'string', cell: (o) => g(o, 'spec.capacity.storage') ?? '' },
    { name: 'Access Modes', type: 'string', cell: (o) => accessModes(g(o, 'spec.accessModes')) },
    {
      name: 'Reclaim Policy',
      type: 'string',
      cell: (o) => g(o, 'spec.persistentVolumeReclaimPolicy') ?? 'Retain',
    },
    volumePhase,
    {
      name: 'Claim',
      type: 'string',
      cell: (o) =>
        g(o, 'spec.claimRef.name') ? `${g(o, 'spec.claimRef.namespace')}/${g(o, 'spec.claimRef.name')}` : '',
    },
    { name: 'StorageClass', type: 'string', cell: (o) => g(o, 'spec.storageClassName') ?? '' },
    volumeAttributesClass,
    { name: 'Reason', type: 'string', cell: (o) => g(o, 'status.reason') ?? '' },
    ageCol,
    volumeMode,
  ],
  PriorityClass: [
    name,
    { name: 'Value', type: 'integer', cell: (o) => g(o, 'value') ?? 0 },
    { name: 'Global-Default', type: 'boolean', cell: (o) => g(o, 'globalDefault') ?? false },
    ageCol,
    {
      name: 'PreemptionPolicy',
      type: 'string',
      cell: (o) => g(o, 'preemptionPolicy') ?? 'PreemptLowerPriority',
    },
  ],
  StorageClass: [
    {
      ...name,
      cell: (o) =>
        `${g(o, 'metadata.name')}${(g(o, 'metadata.annotations') as Record<string, string> | undefined)?.['storageclass.kubernetes.io/is-default-class'] === 'true' ? ' (default)' : ''}`,
    },
    { name: 'Provisioner', type: 'string', cell: (o) => g(o, 'provisioner') },
    { name: 'ReclaimPolicy', type: 'string', cell: (o) => g(o, 'reclaimPolicy') ?? 'Delete' },
    { name: 'VolumeBindingMode', type: 'string', cell: (o) => g(o, 'volumeBindingMode') ?? 'Immediate' },
    {
      name: 'AllowVolumeExpansion',
      type: 'string',
      cell: (o) => String(g(o, 'allowVolumeExpansion') ?? false),
    },
    ageCol,
  ],
  Ingress: [
    name,
    { name: 'Class', type: 'string', cell: (o) => g(o, 'spec.ingressClassName') ?? '<none>' },
    {
      name: 'Hosts',
      type: 'string',
      cell: (o) =>
        arr(g(o, 'spec.rules'))
          .map((r) => r.host ?? '*')
          .join(',') || '*',
    },
    {
      name: 'Address',
      type: 'string',
      cell: (o) =>
        arr(g(o, 'status.loadBalancer.ingress'))
          .map((i) => i.ip ?? i.hostname)
          .join(','),
    },
    { name: 'Ports', type: 'string', cell: (o) => (arr(g(o, 'spec.tls')).length ? '80, 443' : '80') },
    ageCol,
  ],
  ComponentStatus: [
    name,
    ...(['Status', 'Message', 'Error'] as const).map((title) => ({
      name: title,
      type: 'string',
      cell: (o: Obj) => {
        const c = arr(g(o, 'conditions')).find((x) => x.type === 'Healthy');
        if (title === 'Status') return c ? (c.status === 'True' ? 'Healthy' : 'Unhealthy') : 'Unknown';
        return (title === 'Message' ? c?.message : c?.error) ?? '';
      },
    })),
  ],
  Lease: [name, { name: 'Holder', type: 'string', cell: (o) => g(o, 'spec.holderIdentity') ?? '' }, ageCol],
  HorizontalPodAutoscaler: [
    name,
    {
      name: 'Reference',
      type: 'string',
      cell: (o) => `${g(o, 'spec.scaleTargetRef.kind')}/${g(o, 'spec.scaleTargetRef.name')}`,
    },
    {
      name: 'Targets',
      type: 'string',
      cell: (o) => targetsColumn(g(o, 'spec') as Obj | undefined, g(o, 'status') as Obj | undefined),
    },
    { name: 'MinPods', type: 'integer', cell: (o) => g(o, 'spec.minReplicas') ?? 1 },
    { name: 'MaxPods', type: 'integer', cell: (o) => g(o, 'spec.maxReplicas') ?? 0 },
    { name: 'Replicas', type: 'integer', cell: (o) => g(o, 'status.currentReplicas') ?? 0 },
    ageCol,
  ],
  PodDisruptionBudget: [
    name,
    { name: 'Min Available', type: 'string', cell: (o) => String(g(o, 'spec.minAvailable') ?? 'N/A') },
    { name: 'Max Unavailable', type: 'string', cell: (o) => String(g(o, 'spec.maxUnavailable') ?? 'N/A') },
    { name: 'Allowed Disruptions', type: 'integer', cell: (o) => g(o, 'status.disruptionsAllowed') ?? 0 },
    ageCol,
  ],
  Namespace: [name, { name: 'Status', type: 'string', cell: (o) => g(o, 'status.phase') }, ageCol],
  ConfigMap: [
    name,
    {
      name: 'Data',
      type: 'integer',
      cell: (o) =>
        Object.keys((g(o, 'data') as Obj) ?? {}).length +
        Object.keys((g(o, 'binaryData') as Obj) ?? {}).length,
    },
    ageCol,
  ],
  Secret: [
    name,
    { name: 'Type', type: 'string', cell: (o) => g(o, 'type') },
    { name: 'Data', type: 'integer', cell: (o) => Object.keys((g(o, 'data') as Obj) ?? {}).length },
    ageCol,
  ],
  ServiceAccount: [
    name,
    { name: 'Secrets', type: 'integer', cell: (o) => arr(g(o, 'secrets')).length },
    ageCol,
  ],
  Job: [
    name,
    { name: 'Status', type: 'string', cell: jobStatus },
    { name: 'Completions', type: 'string', cell: jobCompletions },
    {
      name: 'Duration',
      type: 'string',
      cell: (o) => {
        const start = g(o, 'status.startTime');
        if (typeof start !== 'string') return '';
        const end = g(o, 'status.completionTime');
        return age(start, typeof end === 'string' ? Date.parse(end) : Date.now());
      },
    },
    ageCol,
    ...images(),
    selector('spec.selector'),
  ],
};

/** The Table for a list of objects of one resource. */
export function toTable(
  r: ResourceInfo,
  items: KubeObject[],
  resourceVersion: string,
  continueToken?: string,
): Obj {
  let cols = columns[r.kind] ?? [name, ageCol];
  if (r.printerColumns?.length) {
    cols = [
      name,
      ...r.printerColumns.map((c) => ({
        name: c.name,
        type: c.type,
        priority: c.priority ?? 0,
        cell: (o: Obj) =>
          c.type === 'date' ? age(g(o, c.jsonPath.replace(/^\./, ''))) : g(o, c.jsonPath.replace(/^\./, '')),
      })),
    ];
    if (!r.printerColumns.some((c) => c.name.toLowerCase() === 'age')) cols.push(ageCol);
  }
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion, ...(continueToken ? { continue: continueToken } : {}) },
    columnDefinitions: cols.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description ?? '',
      priority: c.priority ?? 0,
    })),
    rows: items.map((o) => ({
      cells: cols.map((c) => c.cell(o as Obj) ?? ''),
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
