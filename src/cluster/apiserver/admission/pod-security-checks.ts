/**
 * The Pod Security Standards' checks (baseline and restricted), each with upstream's id, its
 * reason and the detail it prints, over a pod's metadata and spec (k8s.io/pod-security-admission's
 * policy/check_*.go as Kubernetes 1.32 has them). Privileged has no checks. Each check has the
 * policy version it appeared in, and some a later version that changed it, as upstream's
 * versioned checks: a namespace pinned to `v1.21` is judged without restricted's capabilities
 * check (1.22), one pinned to `v1.18` by seccomp annotations rather than fields (1.19), Windows
 * pods are spared restricted's Linux-only checks from 1.25, and the safe sysctls and SELinux
 * types grow with the version. Results come in upstream's order: baseline checks by id, then
 * restricted ones by id, a restricted check replacing the baseline one it overrides.
 */

type Obj = Record<string, unknown>;
type SecurityContext = {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  procMount?: string;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
  seLinuxOptions?: { type?: string; user?: string; role?: string };
  appArmorProfile?: { type?: string };
  windowsOptions?: { hostProcess?: boolean };
  sysctls?: { name?: string }[];
};
type Container = { name?: string; securityContext?: SecurityContext; ports?: { hostPort?: number }[] };
export type PodSpec = {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  os?: { name?: string };
  securityContext?: SecurityContext;
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  volumes?: Obj[];
};
/** What the checks read of a pod's metadata: the legacy seccomp and AppArmor annotations. */
export type PodMeta = { annotations?: Record<string, string> };

export type Level = 'privileged' | 'baseline' | 'restricted';
/** One failed check: upstream's short reason and its detail. */
export interface Violation {
  reason: string;
  detail: string;
}
/**
 * One check: upstream's id and level, the minor version of policy v1.x it applies from (0 when
 * always), the baseline check it overrides at restricted, and what it finds at a version.
 */
type Check = {
  id: string;
  level: Level;
  since?: number;
  overrides?: string;
  run(spec: PodSpec, version: number, meta: PodMeta): Violation | undefined;
};

/** `"a", "b"`, as upstream's joinQuote. */
const quoted = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');
const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);
/** `container "a"` or `containers "a", "b"`. */
const containersPhrase = (names: string[]) =>
  `${plural(names.length, 'container', 'containers')} ${quoted(names)}`;
/** Sorted and without repeats, as upstream's string sets list them. */
const sortedSet = (xs: Iterable<string>) => [...new Set(xs)].sort();
const allContainers = (s: PodSpec) => [
  ...(s.initContainers ?? []),
  ...(s.containers ?? []),
  ...(s.ephemeralContainers ?? []),
];
const failing = (s: PodSpec, bad: (c: Container) => boolean) =>
  allContainers(s)
    .filter(bad)
    .map((c) => c.name ?? '');
/** `pod and containers "a", "b"`: who set a forbidden value. */
const setters = (podBad: boolean, containers: string[]) =>
  [podBad ? 'pod' : '', containers.length ? containersPhrase(containers) : ''].filter(Boolean).join(' and ');
/** Restricted's Linux-only checks spare pods that declare Windows, from policy v1.25. */
const sparedWindows = (s: PodSpec, version: number) => version >= 25 && s.os?.name === 'windows';

const baselineCaps = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);
/** The safe sysctls and the policy version (minor of v1.x) each was allowed from. */
const safeSysctls = new Map([
  ['kernel.shm_rmid_forced', 0],
  ['net.ipv4.ip_local_port_range', 0],
  ['net.ipv4.ip_unprivileged_port_start', 0],
  ['net.ipv4.tcp_syncookies', 0],
  ['net.ipv4.ping_group_range', 0],
  ['net.ipv4.ip_local_reserved_ports', 27],
  ['net.ipv4.tcp_keepalive_time', 29],
  ['net.ipv4.tcp_fin_timeout', 29],
  ['net.ipv4.tcp_keepalive_intvl', 29],
  ['net.ipv4.tcp_keepalive_probes', 29],
  ['net.ipv4.tcp_rmem', 32],
  ['net.ipv4.tcp_wmem', 32],
]);
/** The SELinux types baseline allows (empty: the runtime's default) and the version each came in. */
const selinuxTypes = new Map([
  ['', 0],
  ['container_t', 0],
  ['container_init_t', 0],
  ['container_kvm_t', 0],
  ['container_engine_t', 31],
]);
/** Whether `key` is in an allow-list (value: the version it was added in) at policy `version`. */
const allowedAt = (list: ReadonlyMap<string, number>, key: string, version: number) => {
  const since = list.get(key);
  return since !== undefined && since <= version;
};
const restrictedVolumes = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);
const volumeType = (v: Obj) => Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
const goodProfile = (t: string | undefined) => t === 'RuntimeDefault' || t === 'Localhost';

const seccompPodAnnotation = 'seccomp.security.alpha.kubernetes.io/pod';
const seccompContainerAnnotation = 'container.seccomp.security.alpha.kubernetes.io/';
const appArmorAnnotation = 'container.apparmor.security.beta.kubernetes.io/';

const checks: Check[] = [
  {
    id: 'appArmorProfile',
    level: 'baseline',
    run(s, _v, meta) {
      const podBad =
        s.securityContext?.appArmorProfile !== undefined &&
        !goodProfile(s.securityContext.appArmorProfile.type);
      const values = new Set<string>();
      if (podBad) values.add(s.securityContext?.appArmorProfile?.type ?? '');
      const bad = failing(s, (c) => {
        const p = c.securityContext?.appArmorProfile;
        if (p === undefined || goodProfile(p.type)) return false;
        values.add(p.type ?? '');
        return true;
      });
      // The beta annotations allow runtime/default and localhost/NAME (or nothing).
      const annotations = Object.entries(meta.annotations ?? {})
        .filter(
          ([k, v]) =>
            k.startsWith(appArmorAnnotation) &&
            !(v === '' || v === 'runtime/default' || v.startsWith('localhost/')),
        )
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .sort();
      const who = [
        setters(podBad, bad),
        annotations.length ? plural(annotations.length, 'annotation', 'annotations') : '',
      ]
        .filter(Boolean)
        .join(' and ');
      if (!who) return undefined;
      const all = [...sortedSet(values), ...annotations];
      return {
        reason: plural(all.length, 'forbidden AppArmor profile', 'forbidden AppArmor profiles'),
        detail: `${who} must not set AppArmor profile type to ${quoted(all)}`,
      };
    },
  },
  {
    id: 'capabilities_baseline',
    level: 'baseline',
    run(s) {
      const added: string[] = [];
      const bad = failing(s, (c) => {
        const extra = (c.securityContext?.capabilities?.add ?? []).filter((x) => !baselineCaps.has(x));
        added.push(...extra);
        return extra.length > 0;
      });
      return bad.length
        ? {
            reason: 'non-default capabilities',
            detail: `${containersPhrase(bad)} must not include ${quoted(sortedSet(added))} in securityContext.capabilities.add`,
          }
        : undefined;
    },
  },
  {
    id: 'hostNamespaces',
    level: 'baseline',
    run(s) {
      const on = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((k) => s[k] === true);
      return on.length
        ? { reason: 'host namespaces', detail: on.map((k) => `${k}=true`).join(', ') }
        : undefined;
    },
  },
  {
    id: 'hostPathVolumes',
    level: 'baseline',
    run(s) {
      const vols = (s.volumes ?? []).filter((v) => v.hostPath !== undefined).map((v) => String(v.name));
      return vols.length
        ? {
            reason: 'hostPath volumes',
            detail: `${plural(vols.length, 'volume', 'volumes')} ${quoted(vols)}`,
          }
        : undefined;
    },
  },
  {
    id: 'hostPorts',
    level: 'baseline',
    run(s) {
      const ports: string[] = [];
      const bad = failing(s, (c) => {
        const hp = (c.ports ?? []).map((p) => p.hostPort ?? 0).filter((p) => p !== 0);
        ports.push(...hp.map(String));
        return hp.length > 0;
      });
      const listed = sortedSet(ports);
      return bad.length
        ? {
            reason: 'hostPort',
            detail: `${containersPhrase(bad)} ${plural(bad.length, 'uses', 'use')} ${plural(listed.length, 'hostPort', 'hostPorts')} ${listed.join(', ')}`,
          }
        : undefined;
    },
  },
  {
    id: 'privileged',
    level: 'baseline',
    run(s) {
      const bad = failing(s, (c) => c.securityContext?.privileged === true);
      return bad.length
        ? {
            reason: 'privileged',
            detail: `${containersPhrase(bad)} must not set securityContext.privileged=true`,
          }
        : undefined;
    },
  },
  {
    id: 'procMount',
    level: 'baseline',
    run(s) {
      const types: string[] = [];
      const bad = failing(s, (c) => {
        const m = c.securityContext?.procMount;
        if (m === undefined || m === 'Default') return false;
        types.push(m);
        return true;
      });
      return bad.length
        ? {
            reason: 'procMount',
            detail: `${containersPhrase(bad)} must not set securityContext.procMount to ${quoted(sortedSet(types))}`,
          }
        : undefined;
    },
  },
  {
    id: 'seLinuxOptions',
    level: 'baseline',
    run(s, version) {
      const types: string[] = [];
      let user = false;
      let role = false;
      const bad = (o: SecurityContext['seLinuxOptions']) => {
        if (!o) return false;
        const t = o.type ?? '';
        const typeOk = allowedAt(selinuxTypes, t, version);
        if (!typeOk) types.push(t);
        user ||= !!o.user;
        role ||= !!o.role;
        return !typeOk || !!o.user || !!o.role;
      };
      const podBad = bad(s.securityContext?.seLinuxOptions);
      const containers = failing(s, (c) => bad(c.securityContext?.seLinuxOptions));
      if (!podBad && !containers.length) return undefined;
      const listed = sortedSet(types);
      // As upstream words it: the user and role notes come only along with a bad type.
      const data = listed.length
        ? [
            `${plural(listed.length, 'type', 'types')} ${quoted(listed)}`,
            ...(user ? ['user may not be set'] : []),
            ...(role ? ['role may not be set'] : []),
          ]
        : [];
      return {
        reason: 'seLinuxOptions',
        detail: `${setters(podBad, containers)} set forbidden securityContext.seLinuxOptions: ${data.join('; ')}`,
      };
    },
  },
  {
    id: 'seccompProfile_baseline',
    level: 'baseline',
    run(s, version, meta) {
      if (version < 19) {
        // Before fields, the alpha annotations: runtime/default, docker/default or localhost/NAME.
        const ok = (v: string) =>
          v === 'runtime/default' || v === 'docker/default' || v.startsWith('localhost/');
        const a = meta.annotations ?? {};
        const keys = [
          seccompPodAnnotation,
          ...allContainers(s).map((c) => `${seccompContainerAnnotation}${c.name ?? ''}`),
        ];
        const bad = sortedSet(
          keys
            .filter((k) => a[k] !== undefined && !ok(a[k] as string))
            .map((k) => `${k}=${JSON.stringify(a[k])}`),
        );
        return bad.length
          ? {
              reason: 'seccompProfile',
              detail: `forbidden ${plural(bad.length, 'annotation', 'annotations')} ${bad.join(', ')}`,
            }
          : undefined;
      }
      const values: string[] = [];
      const badType = (p: { type?: string } | undefined) => {
        if (p === undefined || goodProfile(p.type)) return false;
        values.push(p.type ?? '');
        return true;
      };
      const podBad = badType(s.securityContext?.seccompProfile);
      const bad = failing(s, (c) => badType(c.securityContext?.seccompProfile));
      if (!podBad && !bad.length) return undefined;
      return {
        reason: 'seccompProfile',
        detail: `${setters(podBad, bad)} must not set securityContext.seccompProfile.type to ${quoted(sortedSet(values))}`,
      };
    },
  },
  {
    id: 'sysctls',
    level: 'baseline',
    run(s, version) {
      const bad = (s.securityContext?.sysctls ?? [])
        .map((x) => x.name ?? '')
        .filter((n) => !allowedAt(safeSysctls, n, version));
      return bad.length ? { reason: 'forbidden sysctls', detail: bad.join(', ') } : undefined;
    },
  },
  {
    id: 'windowsHostProcess',
    level: 'baseline',
    run(s) {
      const podBad = s.securityContext?.windowsOptions?.hostProcess === true;
      const bad = failing(s, (c) => c.securityContext?.windowsOptions?.hostProcess === true);
      return podBad || bad.length
        ? {
            reason: 'hostProcess',
            detail: `${setters(podBad, bad)} must not set securityContext.windowsOptions.hostProcess=true`,
          }
        : undefined;
    },
  },
  {
    id: 'allowPrivilegeEscalation',
    level: 'restricted',
    since: 8,
    run(s, version) {
      if (sparedWindows(s, version)) return undefined;
      const bad = failing(s, (c) => c.securityContext?.allowPrivilegeEscalation !== false);
      return bad.length
        ? {
            reason: 'allowPrivilegeEscalation != false',
            detail: `${containersPhrase(bad)} must set securityContext.allowPrivilegeEscalation=false`,
          }
        : undefined;
    },
  },
  {
    id: 'capabilities_restricted',
    level: 'restricted',
    since: 22,
    overrides: 'capabilities_baseline',
    run(s, version) {
      if (sparedWindows(s, version)) return undefined;
      const noDrop = failing(s, (c) => !(c.securityContext?.capabilities?.drop ?? []).includes('ALL'));
      const added: string[] = [];
      const adders = failing(s, (c) => {
        const extra = (c.securityContext?.capabilities?.add ?? []).filter((x) => x !== 'NET_BIND_SERVICE');
        added.push(...extra);
        return extra.length > 0;
      });
      const parts = [
        noDrop.length ? `${containersPhrase(noDrop)} must set securityContext.capabilities.drop=["ALL"]` : '',
        adders.length
          ? `${containersPhrase(adders)} must not include ${quoted(sortedSet(added))} in securityContext.capabilities.add`
          : '',
      ].filter(Boolean);
      return parts.length ? { reason: 'unrestricted capabilities', detail: parts.join('; ') } : undefined;
    },
  },
  {
    id: 'restrictedVolumes',
    level: 'restricted',
    overrides: 'hostPathVolumes',
    run(s) {
      const vols = (s.volumes ?? []).filter((v) => !restrictedVolumes.has(volumeType(v)));
      if (!vols.length) return undefined;
      const types = sortedSet(vols.map(volumeType));
      return {
        reason: 'restricted volume types',
        detail: `${plural(vols.length, 'volume', 'volumes')} ${quoted(vols.map((v) => String(v.name)))} ${plural(vols.length, 'uses', 'use')} ${plural(types.length, 'restricted volume type', 'restricted volume types')} ${quoted(types)}`,
      };
    },
  },
  {
    id: 'runAsNonRoot',
    level: 'restricted',
    run(s) {
      const pod = s.securityContext?.runAsNonRoot;
      const explicit = failing(s, (c) => c.securityContext?.runAsNonRoot === false);
      if (pod === false || explicit.length)
        return {
          reason: 'runAsNonRoot != true',
          detail: `${setters(pod === false, explicit)} must not set securityContext.runAsNonRoot=false`,
        };
      const implicit = failing(s, (c) => c.securityContext?.runAsNonRoot === undefined && pod !== true);
      return implicit.length
        ? {
            reason: 'runAsNonRoot != true',
            detail: `pod or ${containersPhrase(implicit)} must set securityContext.runAsNonRoot=true`,
          }
        : undefined;
    },
  },
  {
    id: 'runAsUser',
    level: 'restricted',
    since: 23,
    run(s) {
      const pod = s.securityContext?.runAsUser === 0;
      const bad = failing(s, (c) => c.securityContext?.runAsUser === 0);
      return pod || bad.length
        ? { reason: 'runAsUser=0', detail: `${setters(pod, bad)} must not set runAsUser=0` }
        : undefined;
    },
  },
  {
    id: 'seccompProfile_restricted',
    level: 'restricted',
    since: 19,
    overrides: 'seccompProfile_baseline',
    run(s, version) {
      if (sparedWindows(s, version)) return undefined;
      const values: string[] = [];
      const pod = s.securityContext?.seccompProfile;
      const podBad = pod !== undefined && !goodProfile(pod.type);
      if (podBad) values.push(pod?.type ?? '');
      const explicit = failing(s, (c) => {
        const p = c.securityContext?.seccompProfile;
        if (p === undefined || goodProfile(p.type)) return false;
        values.push(p.type ?? '');
        return true;
      });
      if (podBad || explicit.length)
        return {
          reason: 'seccompProfile',
          detail: `${setters(podBad, explicit)} must not set securityContext.seccompProfile.type to ${quoted(sortedSet(values))}`,
        };
      const implicit = failing(
        s,
        (c) => c.securityContext?.seccompProfile === undefined && pod === undefined,
      );
      return implicit.length
        ? {
            reason: 'seccompProfile',
            detail: `pod or ${containersPhrase(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
          }
        : undefined;
    },
  },
];

const rank: Record<Level, number> = { privileged: 0, baseline: 1, restricted: 2 };

/**
 * The minor version of a policy version label: `v1.N` is N, `latest` (or none) every check
 * there is. Versions newer than Berth knows are judged as latest, as upstream does.
 */
export function policyMinor(version: string | undefined): number {
  const m = /^v1\.(\d+)$/.exec(version ?? '');
  return m ? Number(m[1]) : Number.POSITIVE_INFINITY;
}

/**
 * The checks a pod fails at `level` and policy `version` (`latest` or `v1.x`), in upstream's
 * order; `meta` is the pod's (or its template's) metadata.
 */
export function evaluate(level: Level, spec: PodSpec, version = 'latest', meta: PodMeta = {}): Violation[] {
  const minor = policyMinor(version);
  const applies = (c: Check) => rank[c.level] <= rank[level] && (c.since ?? 0) <= minor;
  // A restricted check replaces the baseline one it overrides from the version it applies.
  const overridden = new Set(checks.filter(applies).flatMap((c) => (c.overrides ? [c.overrides] : [])));
  const out: Violation[] = [];
  for (const c of checks) {
    if (!applies(c) || overridden.has(c.id)) continue;
    const v = c.run(spec, minor, meta);
    if (v) out.push(v);
  }
  return out;
}

/** `reason (detail), reason (detail)`, as upstream joins them. */
export const describe = (vs: Violation[]): string => vs.map((v) => `${v.reason} (${v.detail})`).join(', ');
