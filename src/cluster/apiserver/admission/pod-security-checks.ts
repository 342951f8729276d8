/**
 * The Pod Security Standards' checks (baseline and restricted), each with upstream's name and
 * the detail it prints, over a pod spec and its metadata. Privileged has no checks. Each check
 * has the policy version it appeared in, as upstream's versioned checks do: a namespace pinned
 * to `v1.21` is judged without restricted's capabilities check (1.22), one pinned to `v1.18`
 * without seccomp (1.19), and the safe sysctls grow with the version.
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
  sysctls?: { name?: string }[];
};
type Container = { name?: string; securityContext?: SecurityContext; ports?: { hostPort?: number }[] };
export type PodSpec = {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContext;
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  volumes?: Obj[];
};

export type Level = 'privileged' | 'baseline' | 'restricted';
/** One failed check: upstream's short reason and its detail. */
export interface Violation {
  reason: string;
  detail: string;
}
/**
 * One check: its level, the minor version of policy v1.x it applies from (0 when always), the
 * baseline check it replaces at restricted, and what it finds at a version.
 */
type Check = {
  level: Level;
  since?: number;
  replaces?: string;
  run(spec: PodSpec, version: number): Violation | undefined;
};

const quoted = (names: string[]) => names.map((n) => `"${n}"`).join(', ');
/** `container "a"` or `containers "a", "b"`. */
const containersPhrase = (names: string[], podToo = false) =>
  `${podToo ? 'pod or ' : ''}${names.length > 1 ? 'containers' : 'container'} ${quoted(names)}`;
const allContainers = (s: PodSpec) => [
  ...(s.initContainers ?? []),
  ...(s.containers ?? []),
  ...(s.ephemeralContainers ?? []),
];
const failing = (s: PodSpec, bad: (c: Container) => boolean) =>
  allContainers(s)
    .filter(bad)
    .map((c) => c.name ?? '');

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
const volumeType = (v: Obj) => Object.keys(v).find((k) => k !== 'name') ?? '';

const checks: Check[] = [
  {
    level: 'baseline',
    run(s) {
      const on = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((k) => s[k] === true);
      return on.length
        ? { reason: 'host namespaces', detail: on.map((k) => `${k}=true`).join(', ') }
        : undefined;
    },
  },
  {
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
    level: 'baseline',
    run(s) {
      const added = new Set<string>();
      const bad = failing(s, (c) => {
        const extra = (c.securityContext?.capabilities?.add ?? []).filter((x) => !baselineCaps.has(x));
        for (const x of extra) added.add(x);
        return extra.length > 0;
      });
      return bad.length
        ? {
            reason: 'non-default capabilities',
            detail: `${containersPhrase(bad)} must not include ${quoted([...added])} in securityContext.capabilities.add`,
          }
        : undefined;
    },
  },
  {
    level: 'baseline',
    run(s) {
      const vols = (s.volumes ?? []).filter((v) => v.hostPath !== undefined).map((v) => String(v.name));
      return vols.length
        ? { reason: 'hostPath volumes', detail: `${vols.length > 1 ? 'volumes' : 'volume'} ${quoted(vols)}` }
        : undefined;
    },
  },
  {
    level: 'baseline',
    run(s) {
      const ports = new Set<number>();
      const bad = failing(s, (c) => {
        const hp = (c.ports ?? []).map((p) => p.hostPort ?? 0).filter((p) => p !== 0);
        for (const p of hp) ports.add(p);
        return hp.length > 0;
      });
      return bad.length
        ? {
            reason: 'hostPort',
            detail: `${containersPhrase(bad)} ${ports.size > 1 ? 'use hostPorts' : 'uses hostPort'} ${[...ports].join(', ')}`,
          }
        : undefined;
    },
  },
  {
    level: 'baseline',
    run(s) {
      const bad = failing(s, (c) => (c.securityContext?.procMount ?? 'Default') !== 'Default');
      return bad.length
        ? {
            reason: 'procMount',
            detail: `${containersPhrase(bad)} must not set securityContext.procMount to "Unmasked"`,
          }
        : undefined;
    },
  },
  {
    level: 'baseline',
    since: 19,
    run(s) {
      const podBad = s.securityContext?.seccompProfile?.type === 'Unconfined';
      const bad = failing(s, (c) => c.securityContext?.seccompProfile?.type === 'Unconfined');
      if (!podBad && !bad.length) return undefined;
      const who = [podBad ? 'pod' : '', bad.length ? containersPhrase(bad) : '']
        .filter(Boolean)
        .join(' and ');
      return {
        reason: 'seccompProfile',
        detail: `${who} must not set securityContext.seccompProfile.type to "Unconfined"`,
      };
    },
  },
  {
    level: 'baseline',
    run(s, version) {
      const bad = (s.securityContext?.sysctls ?? [])
        .map((x) => x.name ?? '')
        .filter((n) => (safeSysctls.get(n) ?? Number.POSITIVE_INFINITY) > version);
      return bad.length ? { reason: 'forbidden sysctls', detail: bad.join(', ') } : undefined;
    },
  },
  {
    level: 'restricted',
    run(s) {
      const vols = (s.volumes ?? []).filter(
        (v) => !restrictedVolumes.has(volumeType(v)) && v.hostPath === undefined,
      );
      if (!vols.length) return undefined;
      const types = [...new Set(vols.map(volumeType))];
      return {
        reason: 'restricted volume types',
        detail: `${vols.length > 1 ? 'volumes' : 'volume'} ${quoted(vols.map((v) => String(v.name)))} ${vols.length > 1 ? 'use' : 'uses'} restricted volume ${types.length > 1 ? 'types' : 'type'} ${quoted(types)}`,
      };
    },
  },
  {
    level: 'restricted',
    since: 8,
    run(s) {
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
    level: 'restricted',
    since: 22,
    replaces: 'non-default capabilities',
    run(s) {
      const noDrop = failing(s, (c) => !(c.securityContext?.capabilities?.drop ?? []).includes('ALL'));
      const added = new Set<string>();
      const adders = failing(s, (c) => {
        const extra = (c.securityContext?.capabilities?.add ?? []).filter((x) => x !== 'NET_BIND_SERVICE');
        for (const x of extra) added.add(x);
        return extra.length > 0;
      });
      const parts = [
        noDrop.length ? `${containersPhrase(noDrop)} must set securityContext.capabilities.drop=["ALL"]` : '',
        adders.length
          ? `${containersPhrase(adders)} must not include ${quoted([...added])} in securityContext.capabilities.add`
          : '',
      ].filter(Boolean);
      return parts.length ? { reason: 'unrestricted capabilities', detail: parts.join('; ') } : undefined;
    },
  },
  {
    level: 'restricted',
    run(s) {
      const pod = s.securityContext?.runAsNonRoot;
      if (pod === false)
        return {
          reason: 'runAsNonRoot != true',
          detail: 'pod must not set securityContext.runAsNonRoot=false',
        };
      const bad = failing(s, (c) => (c.securityContext?.runAsNonRoot ?? pod) !== true);
      return bad.length
        ? {
            reason: 'runAsNonRoot != true',
            detail: `${containersPhrase(bad, pod === undefined)} must set securityContext.runAsNonRoot=true`,
          }
        : undefined;
    },
  },
  {
    level: 'restricted',
    since: 23,
    run(s) {
      const pod = s.securityContext?.runAsUser === 0;
      const bad = failing(s, (c) => c.securityContext?.runAsUser === 0);
      if (!pod && !bad.length) return undefined;
      const who = [pod ? 'pod' : '', bad.length ? containersPhrase(bad) : ''].filter(Boolean).join(' and ');
      return { reason: 'runAsUser=0', detail: `${who} must not set runAsUser=0` };
    },
  },
  {
    level: 'restricted',
    since: 19,
    replaces: 'seccompProfile',
    run(s) {
      const ok = (t: string | undefined) => t === 'RuntimeDefault' || t === 'Localhost';
      const pod = s.securityContext?.seccompProfile?.type;
      if (pod !== undefined && !ok(pod) && pod !== 'Unconfined')
        return {
          reason: 'seccompProfile',
          detail: `pod must not set securityContext.seccompProfile.type to "${pod}"`,
        };
      const bad = failing(s, (c) => !ok(c.securityContext?.seccompProfile?.type ?? pod));
      return bad.length
        ? {
            reason: 'seccompProfile',
            detail: `${containersPhrase(bad, pod === undefined)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
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

/** The checks a pod spec fails at `level` and policy `version` (`latest` or `v1.x`), in upstream's order. */
export function evaluate(level: Level, spec: PodSpec, version = 'latest'): Violation[] {
  const minor = policyMinor(version);
  const applies = (c: Check) => rank[c.level] <= rank[level] && (c.since ?? 0) <= minor;
  // Restricted's capabilities and seccomp checks replace baseline's where they apply.
  const replaced = new Set(checks.filter(applies).flatMap((c) => (c.replaces ? [c.replaces] : [])));
  const out: Violation[] = [];
  for (const c of checks) {
    if (!applies(c)) continue;
    const v = c.run(spec, minor);
    if (v && !(c.level === 'baseline' && replaced.has(v.reason))) out.push(v);
  }
  return out;
}

/** `reason (detail), reason (detail)`, as upstream joins them. */
export const describe = (vs: Violation[]): string => vs.map((v) => `${v.reason} (${v.detail})`).join(', ');
