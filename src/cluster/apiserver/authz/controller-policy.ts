/**
 * The controllers' own identities, after upstream's controller roles (bootstrappolicy's
 * controller_policy.go) with kube-controller-manager's `--use-service-account-credentials`:
 * each controller listed here writes as the ServiceAccount `kube-system/NAME` (user
 * `system:serviceaccount:kube-system:NAME`), bound to the ClusterRole `system:controller:NAME`
 * that holds only what that controller does. Its credential is a token derived in memory from
 * the control plane's own (an HMAC of the account's name), so nothing is stored and each start
 * makes new ones. The scheduler is upstream's own user `system:kube-scheduler` (componentUsers),
 * bound to upstream's system:kube-scheduler and system:volume-scheduler roles. The shared
 * informers and the leader Lease stay with system:kube-controller-manager, as upstream's shared
 * informers do; every loop of the control plane writes as one of these identities.
 */
import { createHmac } from 'node:crypto';
import type { UserInfo } from './attributes.js';
import type { PolicyRule } from './rules.js';

const read = ['get', 'list', 'watch'];
const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({
  verbs,
  apiGroups,
  resources,
});
/** Every controller may record events (upstream's eventsRule). */
const events = rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']);
/** A workload controller's own kind: read it, write its status, and block its deletion through owner references. */
const owns = (group: string, plural: string, verbs = read): PolicyRule[] => [
  rule(verbs, [group], [plural]),
  rule(['update'], [group], [`${plural}/status`, `${plural}/finalizers`]),
];

/** A controller's ServiceAccount (in kube-system) and the rules of its `system:controller:` role. */
export interface ControllerIdentity {
  serviceAccount: string;
  rules: PolicyRule[];
}

const certificateController: ControllerIdentity = {
  serviceAccount: 'certificate-controller',
  rules: [
    rule([...read, 'delete'], ['certificates.k8s.io'], ['certificatesigningrequests']),
    rule(
      ['update'],
      ['certificates.k8s.io'],
      ['certificatesigningrequests/approval', 'certificatesigningrequests/status'],
    ),
    {
      verbs: ['approve'],
      apiGroups: ['certificates.k8s.io'],
      resources: ['signers'],
      resourceNames: ['kubernetes.io/kube-apiserver-client-kubelet', 'kubernetes.io/kubelet-serving'],
    },
    {
      verbs: ['sign'],
      apiGroups: ['certificates.k8s.io'],
      resources: ['signers'],
      resourceNames: [
        'kubernetes.io/kube-apiserver-client',
        'kubernetes.io/kube-apiserver-client-kubelet',
        'kubernetes.io/kubelet-serving',
      ],
    },
    rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
    events,
  ],
};

/** Upstream's node-controller: node lifecycle (heartbeats, taints, evictions) and pod CIDRs. */
function nodeController(): ControllerIdentity {
  return {
    serviceAccount: 'node-controller',
    rules: [
      rule(['get', 'list', 'update', 'delete', 'patch'], [''], ['nodes']),
      rule(['patch', 'update'], [''], ['nodes/status', 'pods/status']),
      rule(['list', 'delete'], [''], ['pods']),
      events,
    ],
  };
}

/** By the controller's `--controllers` name. */
export const controllerIdentities: Readonly<Record<string, ControllerIdentity>> = {
  replicaset: {
    serviceAccount: 'replicaset-controller',
    rules: [
      ...owns('apps', 'replicasets', [...read, 'update']),
      rule(['list', 'watch', 'patch', 'create', 'delete'], [''], ['pods']),
      events,
    ],
  },
  deployment: {
    serviceAccount: 'deployment-controller',
    rules: [
      ...owns('apps', 'deployments', [...read, 'update']),
      rule([...read, 'create', 'update', 'patch', 'delete'], ['apps'], ['replicasets']),
      rule(['get', 'list', 'watch', 'update'], [''], ['pods']),
      events,
    ],
  },
  job: {
    serviceAccount: 'job-controller',
    rules: [
      // The Job controller also deletes finished Jobs past ttlSecondsAfterFinished.
      ...owns('batch', 'jobs', [...read, 'update', 'patch', 'delete']),
      rule(['list', 'watch', 'create', 'delete', 'patch'], [''], ['pods']),
      events,
    ],
  },
  cronjob: {
    serviceAccount: 'cronjob-controller',
    rules: [
      ...owns('batch', 'cronjobs', [...read, 'update']),
      rule([...read, 'create', 'update', 'delete', 'patch'], ['batch'], ['jobs']),
      rule(['list', 'delete'], [''], ['pods']),
      events,
    ],
  },
  statefulset: {
    serviceAccount: 'statefulset-controller',
    rules: [
      ...owns('apps', 'statefulsets'),
      rule([...read, 'create', 'delete', 'update', 'patch'], [''], ['pods']),
      rule(['get', 'create', 'delete', 'update', 'patch'], [''], ['persistentvolumeclaims']),
      rule([...read, 'create', 'delete', 'update', 'patch'], ['apps'], ['controllerrevisions']),
      events,
    ],
  },
  daemonset: {
    serviceAccount: 'daemon-set-controller',
    rules: [
      ...owns('apps', 'daemonsets'),
      rule(['list', 'watch'], [''], ['nodes']),
      rule(['list', 'watch', 'create', 'delete', 'patch'], [''], ['pods']),
      rule(['create'], [''], ['pods/binding']),
      rule([...read, 'create', 'delete', 'update', 'patch'], ['apps'], ['controllerrevisions']),
      events,
    ],
  },
  endpoints: {
    serviceAccount: 'endpoint-controller',
    rules: [
      rule(read, [''], ['services', 'pods']),
      rule(['get', 'list', 'create', 'update', 'delete'], [''], ['endpoints']),
      rule(['create'], [''], ['endpoints/restricted']),
      events,
    ],
  },
  endpointslice: {
    serviceAccount: 'endpointslice-controller',
    rules: [
      rule(read, [''], ['services', 'pods', 'nodes']),
      rule(['get', 'list', 'create', 'update', 'delete'], ['discovery.k8s.io'], ['endpointslices']),
      events,
    ],
  },
  disruption: {
    serviceAccount: 'disruption-controller',
    rules: [
      rule(read, ['apps'], ['deployments', 'replicasets', 'statefulsets']),
      rule(read, [''], ['replicationcontrollers', 'pods']),
      rule(read, ['policy'], ['poddisruptionbudgets']),
      rule(['update'], ['policy'], ['poddisruptionbudgets/status']),
      events,
    ],
  },
  'pvc-protection': {
    serviceAccount: 'pvc-protection-controller',
    rules: [
      rule([...read, 'update'], [''], ['persistentvolumeclaims']),
      rule(['get', 'list', 'watch'], [''], ['pods']),
      events,
    ],
  },
  'pv-protection': {
    serviceAccount: 'pv-protection-controller',
    rules: [rule([...read, 'update'], [''], ['persistentvolumes']), events],
  },
  garbagecollector: {
    serviceAccount: 'generic-garbage-collector',
    // It watches and deletes every kind, custom ones too.
    rules: [rule([...read, 'patch', 'update', 'delete'], ['*'], ['*']), events],
  },
  namespace: {
    serviceAccount: 'namespace-controller',
    rules: [
      rule([...read, 'delete', 'deletecollection'], ['*'], ['*']),
      rule(['update', 'patch'], [''], ['namespaces/finalize', 'namespaces/status']),
      events,
    ],
  },
  serviceaccount: {
    // Upstream's service-account-controller and root-ca-cert-publisher in one.
    serviceAccount: 'service-account-controller',
    rules: [
      rule(['create'], [''], ['serviceaccounts']),
      rule(['create', 'update'], [''], ['configmaps']),
      events,
    ],
  },
  resourcequota: {
    serviceAccount: 'resourcequota-controller',
    rules: [
      // It counts every kind a quota names.
      rule(['list', 'watch'], ['*'], ['*']),
      rule(['update'], [''], ['resourcequotas/status']),
      events,
    ],
  },
  horizontalpodautoscaling: {
    serviceAccount: 'horizontal-pod-autoscaler',
    rules: [
      rule(read, ['autoscaling'], ['horizontalpodautoscalers']),
      rule(['update'], ['autoscaling'], ['horizontalpodautoscalers/status']),
      rule(['get', 'update', 'patch'], ['*'], ['*/scale']),
      rule(['list'], [''], ['pods']),
      rule(['list'], ['metrics.k8s.io'], ['pods']),
      events,
    ],
  },
  nodelifecycle: nodeController(),
  nodeipam: nodeController(),
  servicelb: {
    serviceAccount: 'service-controller',
    rules: [
      rule(read, [''], ['services']),
      rule(['update', 'patch'], [''], ['services/status']),
      rule(['list', 'watch'], [''], ['nodes']),
      events,
    ],
  },
  'persistentvolume-binder': {
    serviceAccount: 'persistent-volume-binder',
    rules: [
      rule([...read, 'update', 'create', 'delete'], [''], ['persistentvolumes']),
      rule(['update', 'patch'], [''], ['persistentvolumes/status', 'persistentvolumeclaims/status']),
      rule([...read, 'update'], [''], ['persistentvolumeclaims']),
      rule(read, [''], ['pods']),
      rule(read, ['storage.k8s.io'], ['storageclasses']),
      events,
    ],
  },
  csrapproving: certificateController,
  csrsigning: certificateController,
  csrcleaner: certificateController,
  // Berth's own loops, which upstream has no controller for.
  eventttl: {
    // Kubernetes expires events through etcd leases; Berth's sweep lists and deletes them.
    serviceAccount: 'event-ttl-controller',
    rules: [rule(['list', 'delete'], [''], ['events'])],
  },
  ingress: {
    // The status half of an Ingress controller (ingress-nginx's publish-service, run once for the cluster).
    serviceAccount: 'ingress-status-controller',
    rules: [
      rule(read, ['networking.k8s.io'], ['ingresses', 'ingressclasses']),
      rule(['update', 'patch'], ['networking.k8s.io'], ['ingresses/status']),
      rule(['list', 'watch'], [''], ['nodes']),
      events,
    ],
  },
};

/**
 * Loops that upstream runs as a user of their own rather than a ServiceAccount, by controller
 * name: the bootstrap policy binds that user to upstream's roles for it.
 */
export const componentUsers: Readonly<Record<string, string>> = {
  scheduler: 'system:kube-scheduler',
};

/** Who a control-plane loop writes as: what its token is derived from, and its user. */
export interface LoopIdentity {
  key: string;
  user: UserInfo;
  /** The kube-system ServiceAccount it is, for a controller (not for a component user). */
  serviceAccount?: string;
}

/** The identity of the loop `--controllers` calls `name`, or undefined for one that has none. */
export function loopIdentity(name: string): LoopIdentity | undefined {
  const sa = controllerIdentities[name]?.serviceAccount;
  if (sa) return { key: `controller:${sa}`, user: controllerUser(sa), serviceAccount: sa };
  const user = componentUsers[name];
  return user ? { key: `user:${user}`, user: { name: user, groups: ['system:authenticated'] } } : undefined;
}

/** A loop's token, derived from the control plane's: only the API server and the control plane can make it. */
export function loopToken(controlPlaneToken: string, id: LoopIdentity): string {
  return createHmac('sha256', controlPlaneToken).update(id.key).digest('base64url');
}

/** The user a controller's token authenticates as: its ServiceAccount's. */
export function controllerUser(serviceAccount: string): UserInfo {
  return {
    name: `system:serviceaccount:kube-system:${serviceAccount}`,
    groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
  };
}

/** Each loop identity's token and user, for the API server's authenticator. */
export function controllerTokens(controlPlaneToken: string): [string, UserInfo][] {
  const ids = new Map<string, LoopIdentity>();
  for (const name of [...Object.keys(controllerIdentities), ...Object.keys(componentUsers)]) {
    const id = loopIdentity(name);
    if (id) ids.set(id.key, id);
  }
  return [...ids.values()].map((id) => [loopToken(controlPlaneToken, id), id.user]);
}

/** The `system:controller:` ClusterRoles and their bindings to the controllers' ServiceAccounts. */
export function controllerRoles(): { name: string; serviceAccount: string; rules: PolicyRule[] }[] {
  const seen = new Map<string, PolicyRule[]>();
  for (const i of Object.values(controllerIdentities)) seen.set(i.serviceAccount, i.rules);
  return [...seen].map(([sa, rules]) => ({ name: `system:controller:${sa}`, serviceAccount: sa, rules }));
}
