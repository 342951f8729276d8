/**
 * The roles and bindings every cluster starts with, after upstream's bootstrappolicy: the
 * user-facing roles (cluster-admin, admin, edit, view, built by aggregation), discovery and
 * self-review for every authenticated user, public health and version for everyone, and the
 * roles of the control plane's own identities and of nodes. They are reconciled at start-up
 * (see reconcile.ts), so an upgrade brings new rules; `rbac.authorization.kubernetes.io/autoupdate:
 * "false"` on a role or binding keeps an administrator's change.
 */
import type { KubeObject } from '../../api/selectors.js';
import { controllerRoles } from './controller-policy.js';
import { type PolicyRule, rbacGroup } from './rules.js';

const read = ['get', 'list', 'watch'];
const write = ['create', 'update', 'patch', 'delete', 'deletecollection'];
const readWrite = [...read, ...write];

const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({
  verbs,
  apiGroups,
  resources,
});
/** A rule on certificates.k8s.io `signers` (approve, sign) for the named signers. */
const signers = (verbs: string[], names: string[]): PolicyRule => ({
  verbs,
  apiGroups: ['certificates.k8s.io'],
  resources: ['signers'],
  resourceNames: names,
});
const kubeApiserverClientSigner = 'kubernetes.io/kube-apiserver-client';
const kubeletClientSigner = 'kubernetes.io/kube-apiserver-client-kubelet';
const kubeletServingSigner = 'kubernetes.io/kubelet-serving';
const urls = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({ verbs, nonResourceURLs });

const bootstrapLabels = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const autoupdate = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };
const aggregateLabel = (to: string) => `${rbacGroup}/aggregate-to-${to}`;

function clusterRole(
  name: string,
  rules: PolicyRule[],
  extra: { labels?: Record<string, string>; aggregateFrom?: string } = {},
): KubeObject {
  return {
    apiVersion: `${rbacGroup}/v1`,
    kind: 'ClusterRole',
    metadata: { name, labels: { ...bootstrapLabels, ...extra.labels }, annotations: { ...autoupdate } },
    ...(extra.aggregateFrom
      ? {
          aggregationRule: {
            clusterRoleSelectors: [{ matchLabels: { [aggregateLabel(extra.aggregateFrom)]: 'true' } }],
          },
        }
      : {}),
    rules,
  } as KubeObject;
}

function clusterRoleBinding(
  name: string,
  role: string,
  subjects: { kind: string; name: string; namespace?: string }[],
): KubeObject {
  return {
    apiVersion: `${rbacGroup}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { ...bootstrapLabels }, annotations: { ...autoupdate } },
    roleRef: { apiGroup: rbacGroup, kind: 'ClusterRole', name: role },
    // A ServiceAccount subject has no apiGroup (the core group's), as upstream writes them.
    subjects: subjects.map((s) => (s.kind === 'ServiceAccount' ? s : { ...s, apiGroup: rbacGroup })),
  } as KubeObject;
}

const viewRules: PolicyRule[] = [
  rule(
    read,
    [''],
    [
      'pods',
      'replicationcontrollers',
      'replicationcontrollers/scale',
      'serviceaccounts',
      'services',
      'services/status',
      'endpoints',
      'persistentvolumeclaims',
      'persistentvolumeclaims/status',
      'configmaps',
    ],
  ),
  rule(
    read,
    [''],
    [
      'limitranges',
      'resourcequotas',
      'bindings',
      'events',
      'pods/status',
      'resourcequotas/status',
      'namespaces/status',
      'replicationcontrollers/status',
      'pods/log',
    ],
  ),
  // Read on namespaces in a namespace's scope reads that namespace: a sign of where one has access.
  rule(read, [''], ['namespaces']),
  rule(read, ['discovery.k8s.io'], ['endpointslices']),
  rule(
    read,
    ['apps'],
    [
      'controllerrevisions',
      'statefulsets',
      'statefulsets/scale',
      'statefulsets/status',
      'daemonsets',
      'daemonsets/status',
      'deployments',
      'deployments/scale',
      'deployments/status',
      'replicasets',
      'replicasets/scale',
      'replicasets/status',
    ],
  ),
  rule(read, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
  rule(read, ['batch'], ['jobs', 'cronjobs', 'cronjobs/status', 'jobs/status']),
  rule(read, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
  rule(read, ['networking.k8s.io'], ['networkpolicies', 'ingresses', 'ingresses/status']),
];

const editRules: PolicyRule[] = [
  rule(
    read,
    [''],
    ['pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward', 'secrets', 'services/proxy'],
  ),
  rule(['impersonate'], [''], ['serviceaccounts']),
  rule(write, [''], ['pods', 'pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward']),
  rule(['create'], [''], ['pods/eviction']),
  rule(
    write,
    [''],
    [
      'replicationcontrollers',
      'replicationcontrollers/scale',
      'serviceaccounts',
      'services',
      'services/proxy',
      'persistentvolumeclaims',
      'configmaps',
      'secrets',
      'events',
    ],
  ),
  rule(['create'], [''], ['serviceaccounts/token']),
  rule(
    write,
    ['apps'],
    [
      'statefulsets',
      'statefulsets/scale',
      'daemonsets',
      'deployments',
      'deployments/scale',
      'deployments/rollback',
      'replicasets',
      'replicasets/scale',
    ],
  ),
  rule(write, ['autoscaling'], ['horizontalpodautoscalers']),
  rule(write, ['batch'], ['jobs', 'cronjobs']),
  rule(write, ['policy'], ['poddisruptionbudgets']),
  rule(write, ['networking.k8s.io'], ['networkpolicies', 'ingresses']),
  rule(readWrite, ['coordination.k8s.io'], ['leases']),
];

const adminRules: PolicyRule[] = [
  rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
  rule(readWrite, [rbacGroup], ['roles', 'rolebindings']),
];

const publicInfo = ['/healthz', '/livez', '/readyz', '/version', '/version/'];

/** Upstream's eventsRule: whoever reports events creates them and counts repeats. */
const events = rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']);

/**
 * What system:kube-controller-manager itself does, as upstream's role (less its token
 * controller's Secrets, which Berth does not have): the shared informers list and watch every
 * kind, it holds the control plane's leader Lease, and it gets or creates each controller's
 * ServiceAccount in kube-system (controller-accounts.ts). Every controller writes as its own
 * identity (controller-policy.ts). A data dir made by an earlier Berth keeps the wider rules
 * it had (reconciling keeps additions).
 */
const controllerManagerRules: PolicyRule[] = [
  events,
  rule(['create'], ['coordination.k8s.io'], ['leases']),
  {
    verbs: ['get', 'update'],
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    resourceNames: ['berth-controller-manager'],
  },
  rule(['create'], [''], ['serviceaccounts']),
  rule(['get'], [''], ['namespaces', 'serviceaccounts']),
  rule(['update'], [''], ['serviceaccounts']),
  rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
  rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
  rule(['list', 'watch'], ['*'], ['*']),
];

/** Upstream's system:kube-scheduler role, with its own leader Lease's rights. */
const schedulerRules: PolicyRule[] = [
  events,
  rule(['create'], ['coordination.k8s.io'], ['leases']),
  {
    verbs: ['get', 'update'],
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    resourceNames: ['kube-scheduler'],
  },
  rule(read, [''], ['nodes']),
  // delete: preemption.
  rule([...read, 'delete'], [''], ['pods']),
  rule(['create'], [''], ['bindings', 'pods/binding']),
  rule(['patch', 'update'], [''], ['pods/status']),
  rule(read, [''], ['replicationcontrollers', 'services']),
  rule(read, ['apps', 'extensions'], ['replicasets']),
  rule(read, ['apps'], ['statefulsets']),
  rule(read, ['policy'], ['poddisruptionbudgets']),
  rule(read, [''], ['persistentvolumeclaims', 'persistentvolumes']),
  rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
  rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
  rule(read, ['storage.k8s.io'], ['csinodes']),
  rule(read, [''], ['namespaces']),
  rule(read, ['storage.k8s.io'], ['csidrivers']),
  rule(read, ['storage.k8s.io'], ['csistoragecapacities']),
];

/** Upstream's system:volume-scheduler role: binding WaitForFirstConsumer claims to volumes. */
const volumeSchedulerRules: PolicyRule[] = [
  rule([...read, 'patch', 'update'], [''], ['persistentvolumes']),
  rule(read, ['storage.k8s.io'], ['storageclasses']),
  rule([...read, 'patch', 'update'], [''], ['persistentvolumeclaims']),
];

/**
 * Upstream's system:node role, rule for rule (1.32). As upstream, it is bound to nobody:
 * node-authorizer.ts decides what a node may do, narrower than these rules (its own Node and
 * pods, its own pods' Secrets, ConfigMaps, claims, volumes and tokens).
 */
const nodeRules: PolicyRule[] = [
  rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
  rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews', 'subjectaccessreviews']),
  rule(read, [''], ['services']),
  rule(['create', 'get', 'list', 'watch'], [''], ['nodes']),
  rule(['patch', 'update'], [''], ['nodes/status']),
  rule(['patch', 'update'], [''], ['nodes']),
  rule(['create', 'patch', 'update'], [''], ['events']),
  rule(read, [''], ['pods']),
  rule(['create', 'delete'], [''], ['pods']),
  rule(['patch', 'update'], [''], ['pods/status']),
  rule(['create'], [''], ['pods/eviction']),
  rule(read, [''], ['configmaps', 'secrets']),
  rule(['get'], [''], ['persistentvolumeclaims', 'persistentvolumes']),
  rule(['get'], [''], ['endpoints']),
  rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
  rule(['create', 'delete', 'get', 'patch', 'update'], ['coordination.k8s.io'], ['leases']),
  rule(['get'], ['storage.k8s.io'], ['volumeattachments']),
  rule(['create'], [''], ['serviceaccounts/token']),
  rule(['get', 'patch', 'update'], [''], ['persistentvolumeclaims/status']),
  rule(read, ['storage.k8s.io'], ['csidrivers']),
  rule(['create', 'delete', 'get', 'patch', 'update'], ['storage.k8s.io'], ['csinodes']),
  rule(read, ['node.k8s.io'], ['runtimeclasses']),
];

/** Upstream's system:node-proxier role: what a Service proxy and a pod network watch. */
const nodeProxierRules: PolicyRule[] = [
  rule(['list', 'watch'], [''], ['nodes', 'services', 'endpoints']),
  rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
  rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']),
];

/**
 * What a node's NetworkPolicy enforcement watches: every pod (peers run on any node), namespace
 * and policy. Upstream leaves this to the network plugin's own identity; k3s gives its agents'
 * kube-router the same reads (system:k3s-controller).
 */
const nodeNetworkPolicyRules: PolicyRule[] = [
  rule(['list', 'watch'], [''], ['pods', 'namespaces']),
  rule(['list', 'watch'], ['networking.k8s.io'], ['networkpolicies']),
];

/**
 * What the built-in Ingress controller on every node reads (k3s grants Traefik the like): its
 * Ingresses and classes. TLS Secrets are the Node authorizer's to grant (a list or watch
 * selecting `type=kubernetes.io/tls`), Services and EndpointSlices system:node-proxier's.
 */
const ingressControllerRules: PolicyRule[] = [
  rule(['list', 'watch'], ['networking.k8s.io'], ['ingresses', 'ingressclasses']),
];

const csrGroup = 'certificates.k8s.io';
const nodeClientRole = 'system:certificates.k8s.io:certificatesigningrequests:nodeclient';
const selfNodeClientRole = 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient';

/** The bootstrap ClusterRoles, in upstream's names. */
export function bootstrapClusterRoles(): KubeObject[] {
  return [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), urls(['*'], ['*'])]),
    clusterRole('admin', [], { aggregateFrom: 'admin' }),
    clusterRole('edit', [], { aggregateFrom: 'edit', labels: { [aggregateLabel('admin')]: 'true' } }),
    clusterRole('view', [], {
      aggregateFrom: 'view',
      labels: { [aggregateLabel('admin')]: 'true', [aggregateLabel('edit')]: 'true' },
    }),
    clusterRole('system:aggregate-to-admin', adminRules, { labels: { [aggregateLabel('admin')]: 'true' } }),
    clusterRole('system:aggregate-to-edit', editRules, {
      labels: { [aggregateLabel('admin')]: 'true', [aggregateLabel('edit')]: 'true' },
    }),
    clusterRole('system:aggregate-to-view', viewRules, {
      labels: {
        [aggregateLabel('admin')]: 'true',
        [aggregateLabel('edit')]: 'true',
        [aggregateLabel('view')]: 'true',
      },
    }),
    clusterRole('system:discovery', [
      urls(
        ['get'],
        [
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/healthz',
          '/livez',
          '/openapi',
          '/openapi/*',
          '/readyz',
          '/version',
          '/version/',
        ],
      ),
    ]),
    clusterRole('system:basic-user', [
      rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ]),
    clusterRole('system:public-info-viewer', [urls(['get'], publicInfo)]),
    clusterRole('system:service-account-issuer-discovery', [
      urls(
        ['get'],
        [
          '/.well-known/openid-configuration',
          '/.well-known/openid-configuration/',
          '/openid/v1/jwks',
          '/openid/v1/jwks/',
        ],
      ),
    ]),
    clusterRole('system:kube-controller-manager', controllerManagerRules),
    ...controllerRoles().map((r) => clusterRole(r.name, r.rules)),
    clusterRole('system:kube-scheduler', schedulerRules),
    clusterRole('system:volume-scheduler', volumeSchedulerRules),
    clusterRole('system:node', nodeRules),
    clusterRole('system:node-proxier', nodeProxierRules),
    clusterRole('system:berth-network-policy', nodeNetworkPolicyRules),
    clusterRole('system:berth-ingress', ingressControllerRules),
    clusterRole('system:node-bootstrapper', [
      rule(['create', 'get', 'list', 'watch'], [csrGroup], ['certificatesigningrequests']),
    ]),
    clusterRole(nodeClientRole, [rule(['create'], [csrGroup], ['certificatesigningrequests/nodeclient'])]),
    clusterRole(selfNodeClientRole, [
      rule(['create'], [csrGroup], ['certificatesigningrequests/selfnodeclient']),
    ]),
    // Upstream's approver roles, one per built-in signer, for an administrator to bind.
    clusterRole('system:certificates.k8s.io:kube-apiserver-client-approver', [
      signers(['approve'], [kubeApiserverClientSigner]),
    ]),
    clusterRole('system:certificates.k8s.io:kube-apiserver-client-kubelet-approver', [
      signers(['approve'], [kubeletClientSigner]),
    ]),
    clusterRole('system:certificates.k8s.io:kubelet-serving-approver', [
      signers(['approve'], [kubeletServingSigner]),
    ]),
    clusterRole('system:certificates.k8s.io:legacy-unknown-approver', [
      signers(['approve'], ['kubernetes.io/legacy-unknown']),
    ]),
    clusterRole('system:auth-delegator', [
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
    ]),
  ];
}

const user = (name: string) => ({ kind: 'User', name });
const group = (name: string) => ({ kind: 'Group', name });

/** The bootstrap ClusterRoleBindings. */
export function bootstrapClusterRoleBindings(): KubeObject[] {
  return [
    clusterRoleBinding('cluster-admin', 'cluster-admin', [group('system:masters')]),
    clusterRoleBinding('system:discovery', 'system:discovery', [group('system:authenticated')]),
    clusterRoleBinding('system:basic-user', 'system:basic-user', [group('system:authenticated')]),
    clusterRoleBinding('system:public-info-viewer', 'system:public-info-viewer', [
      group('system:authenticated'),
      group('system:unauthenticated'),
    ]),
    clusterRoleBinding('system:service-account-issuer-discovery', 'system:service-account-issuer-discovery', [
      group('system:serviceaccounts'),
    ]),
    clusterRoleBinding('system:kube-controller-manager', 'system:kube-controller-manager', [
      user('system:kube-controller-manager'),
    ]),
    ...controllerRoles().map((r) =>
      clusterRoleBinding(r.name, r.name, [
        { kind: 'ServiceAccount', name: r.serviceAccount, namespace: 'kube-system' },
      ]),
    ),
    clusterRoleBinding('system:kube-scheduler', 'system:kube-scheduler', [user('system:kube-scheduler')]),
    clusterRoleBinding('system:volume-scheduler', 'system:volume-scheduler', [user('system:kube-scheduler')]),
    // Nodes are authorized by the Node authorizer; upstream keeps this binding without subjects.
    clusterRoleBinding('system:node', 'system:node', []),
    // The agent runs the Service proxy and the pod network with the node's identity (upstream
    // binds this role to kube-proxy's user); they watch all Nodes, Services and EndpointSlices.
    clusterRoleBinding('system:node-proxier', 'system:node-proxier', [group('system:nodes')]),
    clusterRoleBinding('system:berth-network-policy', 'system:berth-network-policy', [group('system:nodes')]),
    // Every node's agent runs the Ingress controller with the node's identity.
    clusterRoleBinding('system:berth-ingress', 'system:berth-ingress', [group('system:nodes')]),
    // What kubeadm binds for joining: the join token may ask for node client certificates
    // (and have them approved), and a node may renew its own.
    clusterRoleBinding('kubeadm:kubelet-bootstrap', 'system:node-bootstrapper', [
      group('system:bootstrappers'),
    ]),
    clusterRoleBinding('kubeadm:node-autoapprove-bootstrap', nodeClientRole, [group('system:bootstrappers')]),
    clusterRoleBinding('kubeadm:node-autoapprove-certificate-rotation', selfNodeClientRole, [
      group('system:nodes'),
    ]),
  ];
}
