/**
 * A container's effective securityContext, the kubelet's way (its `securitycontext` package):
 * the pod's settings with the container's winning where both may say (runAsUser, runAsGroup,
 * runAsNonRoot, seccompProfile), the pod-only ones (supplementalGroups, fsGroup, sysctls) and
 * the container-only ones (privileged, capabilities, readOnlyRootFilesystem,
 * allowPrivilegeEscalation, procMount). Pure: the runtime applies the result.
 */
import { ConfigError } from './config-error.js';

/** What the runtime applies to one container. */
export interface SecuritySettings {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot: boolean;
  /** supplementalGroups, then fsGroup (the kubelet adds it to the groups). */
  supplementalGroups: number[];
  readOnlyRootFilesystem: boolean;
  privileged: boolean;
  /** Capability names as the pod spells them (`NET_ADMIN`); the engine normalises them. */
  capAdd: string[];
  capDrop: string[];
  /** no_new_privs: set when allowPrivilegeEscalation is false. */
  noNewPrivileges: boolean;
  /** Kubernetes' default without a profile is Unconfined (the kubelet's --seccomp-default=false). */
  seccomp: { type: 'RuntimeDefault' | 'Unconfined' } | { type: 'Localhost'; localhostProfile: string };
  /** Pod sysctls, checked against the kubelet's safe set. */
  sysctls: Record<string, string>;
}

interface PodSecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  supplementalGroups?: number[];
  fsGroup?: number;
  seccompProfile?: { type: string; localhostProfile?: string };
  sysctls?: { name: string; value: string }[];
}

interface ContainerSecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type: string; localhostProfile?: string };
  procMount?: string;
}

/**
 * The sysctls the kubelet allows without `--allowed-unsafe-sysctls` (its safe set; all are
 * namespaced, so a pod cannot change the node's).
 */
export const safeSysctls: readonly string[] = [
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
];

function seccompOf(p: { type: string; localhostProfile?: string } | undefined): SecuritySettings['seccomp'] {
  if (!p || p.type === 'Unconfined') return { type: 'Unconfined' };
  if (p.type === 'RuntimeDefault') return { type: 'RuntimeDefault' };
  if (p.type === 'Localhost') {
    const file = p.localhostProfile ?? '';
    // The profile is a path relative to the node's seccomp folder, never outside it.
    if (!file || file.startsWith('/') || file.split('/').includes('..'))
      throw new ConfigError(`Invalid seccompProfile localhostProfile "${file}": give a relative path`);
    return { type: 'Localhost', localhostProfile: file };
  }
  throw new ConfigError(`Unsupported seccompProfile type "${p.type}"`);
}

/** The effective security settings of container `c` of a pod with spec `spec`. */
export function effectiveSecurity(
  // biome-ignore lint/suspicious/noExplicitAny: the pod spec is untyped JSON here
  spec: any,
  // biome-ignore lint/suspicious/noExplicitAny: a container of the pod spec
  c: any,
): SecuritySettings {
  const pod = (spec?.securityContext ?? {}) as PodSecurityContext;
  const sc = (c?.securityContext ?? {}) as ContainerSecurityContext;
  if (sc.procMount && sc.procMount !== 'Default')
    throw new ConfigError(
      `procMount "${sc.procMount}" needs a user namespace (hostUsers: false), which this node does not offer`,
    );
  const sysctls: Record<string, string> = {};
  for (const s of pod.sysctls ?? []) {
    if (!safeSysctls.includes(s.name))
      throw new ConfigError(`Pod forbidden sysctl: "${s.name}" not allowlisted`);
    sysctls[s.name] = s.value;
  }
  const runAsUser = sc.runAsUser ?? pod.runAsUser;
  const runAsGroup = sc.runAsGroup ?? pod.runAsGroup;
  return {
    ...(runAsUser !== undefined ? { runAsUser } : {}),
    ...(runAsGroup !== undefined ? { runAsGroup } : {}),
    runAsNonRoot: sc.runAsNonRoot ?? pod.runAsNonRoot ?? false,
    supplementalGroups: [
      ...new Set([...(pod.supplementalGroups ?? []), ...(pod.fsGroup !== undefined ? [pod.fsGroup] : [])]),
    ],
    readOnlyRootFilesystem: sc.readOnlyRootFilesystem ?? false,
    privileged: sc.privileged ?? false,
    capAdd: sc.capabilities?.add ?? [],
    capDrop: sc.capabilities?.drop ?? [],
    noNewPrivileges: sc.allowPrivilegeEscalation === false,
    seccomp: seccompOf(sc.seccompProfile ?? pod.seccompProfile),
    sysctls,
  };
}

/** The kubelet's name for a pod in messages: `name_namespace(uid)`. */
const podName = (pod: { name: string; namespace: string; uid: string }) =>
  `${pod.name}_${pod.namespace}(${pod.uid})`;

/**
 * The kubelet's runAsNonRoot check (verifyRunAsNonRoot), against the user the container
 * would run as: runAsUser when given, else the image's `USER` (root when empty). A user name
 * cannot be checked without the image's passwd, so it is refused, as the kubelet does.
 */
export function checkRunAsNonRoot(
  s: SecuritySettings,
  imageUser: string,
  pod: { name: string; namespace: string; uid: string },
  container: string,
): void {
  if (!s.runAsNonRoot) return;
  const where = `(pod: "${podName(pod)}", container: ${container})`;
  if (s.runAsUser !== undefined) {
    if (s.runAsUser === 0) throw new ConfigError(`container's runAsUser breaks non-root policy ${where}`);
    return;
  }
  const user = imageUser.split(':')[0] ?? '';
  if (user !== '' && !/^\d+$/.test(user))
    throw new ConfigError(
      `container has runAsNonRoot and image has non-numeric user (${user}), cannot verify user is non-root ${where}`,
    );
  if (user === '' || Number(user) === 0)
    throw new ConfigError(`container has runAsNonRoot and image will run as root ${where}`);
}

/**
 * The engine's `USER[:GROUP]` for the settings: runAsUser and runAsGroup when given, the
 * image's user (and its group, unless runAsGroup replaces it) otherwise.
 */
export function engineUser(s: SecuritySettings, imageUser: string): string | undefined {
  if (s.runAsUser === undefined && s.runAsGroup === undefined) return undefined;
  const [imgUser = '', imgGroup] = imageUser.split(':', 2);
  const user = s.runAsUser !== undefined ? String(s.runAsUser) : imgUser || '0';
  const group =
    s.runAsGroup !== undefined ? String(s.runAsGroup) : s.runAsUser === undefined ? imgGroup : undefined;
  return group !== undefined && group !== '' ? `${user}:${group}` : user;
}
