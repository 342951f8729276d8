/**
 * Server-side Table output (meta.k8s.io/v1 Table), with Kubernetes' columns for the common
 * kinds, so `kubectl get` prints as it does against upstream. Other kinds get NAME and AGE.
 */
import { arr, type Obj } from './field-values.js';
import { targetsColumn } from './hpa-metrics.js';
import type { ResourceInfo } from './resources.js';
import type { KubeObject } from './selectors.js';

interface Column {
  name: string;
  type: string;
  format?: string;
  priority?: number;
  description?: string;
  cell: (o: Obj) => unknown;
}

const g = (o: unknown, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>((cur, p) => (cur && typeof cur === 'object' ? (cur as Obj)[p] : undefined), o);

/** Kubernetes' short age: 5s, 3m, 2h, 4d. */
export function age(ts: unknown, now = Date.now()): string {
  if (typeof ts !== 'string') return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

const name: Column = { name: 'Name', type: 'string', format: 'name', cell: (o) => g(o, 'metadata.name') };
/** A claim's or a volume's phase; Terminating once deleted while in-use protection holds it. */
const volumePhase: Column = {
  name: 'Status',
  type: 'string',
  cell: (o) => (g(o, 'metadata.deletionTimestamp') ? 'Terminating' : (g(o, 'status.phase') ?? 'Pending')),
};
const ageCol: Column = { name: 'Age', type: 'string', cell: (o) => age(g(o, 'metadata.creationTimestamp')) };
const selector = (path: string): Column => ({
  name: 'Selector',
  type: 'string',
  priority: 1,
  cell: (o) =>
    Object.entries((g(o, path) as Obj) ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '<none>',
});
const images: Column[] = [
  {
    name: 'Containers',
    type: 'string',
    priority: 1,
    cell: (o) =>
      arr(g(o, 'spec.template.spec.containers'))
        .map((c) => c.name)
        .join(','),
  },
  {
    name: 'Images',
    type: 'string',
    priority: 1,
    cell: (o) =>
      arr(g(o, 'spec.template.spec.containers'))
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

function podStatus(o: Obj): string {
  if (g(o, 'metadata.deletionTimestamp')) return 'Terminating';
  for (const cs of arr(g(o, 'status.containerStatuses'))) {
    const w = g(cs, 'state.waiting.reason') ?? g(cs, 'state.terminated.reason');
    if (w) return String(w);
  }
  return String(g(o, 'status.reason') ?? g(o, 'status.phase') ?? 'Pending');
}

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
    {
      name: 'Ready',
      type: 'string',
      cell: (o) =>
        `${arr(g(o, 'status.containerStatuses')).filter((c) => c.ready).length}/${arr(g(o, 'spec.containers')).length}`,
    },
    { name: 'Status', type: 'string', cell: podStatus },
    {
      name: 'Restarts',
      type: 'string',
      cell: (o) =>
        String(arr(g(o, 'status.containerStatuses')).reduce((n, c) => n + Number(c.restartCount ?? 0), 0)),
    },
    ageCol,
    { name: 'IP', type: 'string', priority: 1, cell: (o) => g(o, 'status.podIP') ?? '<none>' },
    { name: 'Node', type: 'string', priority: 1, cell: (o) => g(o, 'spec.nodeName') ?? '<none>' },
    {
      name: 'Nominated Node',
      type: 'string',
      priority: 1,
      cell: (o) => g(o, 'status.nominatedNodeName') ?? '<none>',
    },
    { name: 'Readiness Gates', type: 'string', priority: 1, cell: () => '<none>' },
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
    ...images,
    selector('spec.selector.matchLabels'),
  ],
  ReplicaSet: [
    name,
    { name: 'Desired', type: 'integer', cell: (o) => g(o, 'spec.replicas') ?? 0 },
    { name: 'Current', type: 'integer', cell: (o) => g(o, 'status.replicas') ?? 0 },
    { name: 'Ready', type: 'integer', cell: (o) => g(o, 'status.readyReplicas') ?? 0 },
    ageCol,
    ...images,
    selector('spec.selector.matchLabels'),
  ],
  StatefulSet: [
    name,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) => `${g(o, 'status.readyReplicas') ?? 0}/${g(o, 'spec.replicas') ?? 0}`,
    },
    ageCol,
    ...images,
  ],
  Service: [
    name,
    { name: 'Type', type: 'string', cell: (o) => g(o, 'spec.type') },
    { name: 'Cluster-IP', type: 'string', cell: (o) => g(o, 'spec.clusterIP') ?? '<none>' },
    {
      name: 'External-IP',
      type: 'string',
      cell: (o) =>
        arr(g(o, 'status.loadBalancer.ingress'))
          .map((i) => i.ip)
          .join(',') || '<none>',
    },
    {
      name: 'Port(s)',
      type: 'string',
      cell: (o) =>
        arr(g(o, 'spec.ports'))
          .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
          .join(',') || '<none>',
    },
    ageCol,
    selector('spec.selector'),
  ],
  Node: [
    name,
    {
      name: 'Status',
      type: 'string',
      cell: (o) =>
        arr(g(o, 'status.conditions')).find((c) => c.type === 'Ready')?.status === 'True'
          ? 'Ready'
          : 'NotReady',
    },
    {
      name: 'Roles',
      type: 'string',
      cell: (o) =>
        Object.keys((g(o, 'metadata.labels') as Obj) ?? {})
          .filter((k) => k.startsWith('node-role.kubernetes.io/'))
          .map((k) => k.slice(24))
          .join(',') || '<none>',
    },
    ageCol,
    { name: 'Version', type: 'string', cell: (o) => g(o, 'status.nodeInfo.kubeletVersion') ?? '' },
    {
      name: 'Internal-IP',
      type: 'string',
      priority: 1,
      cell: (o) => arr(g(o, 'status.addresses')).find((a) => a.type === 'InternalIP')?.address ?? '<none>',
    },
  ],
  Endpoints: [
    name,
    {
      name: 'Endpoints',
      type: 'string',
      cell: (o) =>
        arr(g(o, 'subsets'))
          .flatMap((ss) =>
            arr(ss.addresses).flatMap((a) =>
              arr(ss.ports).length ? arr(ss.ports).map((p) => `${a.ip}:${p.port}`) : [String(a.ip)],
            ),
          )
          .join(',') || '<none>',
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
    ...images,
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
  ],
  Event: [
    {
      name: 'Last Seen',
      type: 'string',
      cell: (o) => age(g(o, 'lastTimestamp') ?? g(o, 'eventTime') ?? g(o, 'metadata.creationTimestamp')),
    },
    { name: 'Type', type: 'string', cell: (o) => g(o, 'type') ?? '' },
    { name: 'Reason', type: 'string', cell: (o) => g(o, 'reason') ?? '' },
    {
      name: 'Object',
      type: 'string',
      cell: (o) =>
        `${String(g(o, 'involvedObject.kind') ?? '').toLowerCase()}/${g(o, 'involvedObject.name') ?? ''}`,
    },
    { name: 'Message', type: 'string', cell: (o) => g(o, 'message') ?? '' },
  ],
  PersistentVolumeClaim: [
    name,
    volumePhase,
    { name: 'Volume', type: 'string', cell: (o) => g(o, 'spec.volumeName') ?? '' },
    { name: 'Capacity', type: 'string', cell: (o) => g(o, 'status.capacity.storage') ?? '' },
    { name: 'Access Modes', type: 'string', cell: (o) => accessModes(g(o, 'spec.accessModes')) },
    { name: 'StorageClass', type: 'string', cell: (o) => g(o, 'spec.storageClassName') ?? '<unset>' },
    ageCol,
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
    ageCol,
  ],
  PriorityClass: [
    name,
    { name: 'Value', type: 'integer', cell: (o) => g(o, 'value') ?? 0 },
    { name: 'Global-Default', type: 'boolean', cell: (o) => g(o, 'globalDefault') ?? false },
    {
      name: 'Preemption-Policy',
      type: 'string',
      cell: (o) => g(o, 'preemptionPolicy') ?? 'PreemptLowerPriority',
    },
    ageCol,
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
    {
      name: 'Status',
      type: 'string',
      cell: (o) =>
        arr(g(o, 'status.conditions')).find((c) => c.type === 'Complete' && c.status === 'True')
          ? 'Complete'
          : 'Running',
    },
    {
      name: 'Completions',
      type: 'string',
      cell: (o) => `${g(o, 'status.succeeded') ?? 0}/${g(o, 'spec.completions') ?? 1}`,
    },
    ageCol,
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
