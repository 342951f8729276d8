/**
 * OCI runtime config generation: a container's settings in, the `config.json` of its bundle
 * out. Pure (no file system access) so that every rule is unit-tested; the caller reads the
 * image's /etc/passwd and resolves volumes to host paths first.
 *
 * The defaults follow Docker's: the namespaces pid, mount, uts, ipc and (unless
 * `--network host`) network; Docker's capability set; its masked and read-only /proc and
 * /sys paths; Docker's seccomp allowlist (see seccomp.ts) unless another profile or none is
 * asked for; devices limited to runc's defaults. `--privileged` lifts capabilities, masks,
 * seccomp and the device rule. Only the rlimits `--ulimit` asks for are set: a container
 * inherits conmon's others, because raising a hard limit needs CAP_SYS_RESOURCE, which some
 * hosts' root lacks.
 */
import { existsSync } from 'node:fs';
import { invalidArgument } from '../../core/errors.js';
import type { ContainerConfig } from '../container/config.js';
import type { Mount } from '../snapshot/snapshotter.js';
import { capabilitySet } from './capabilities.js';
import { hostDevice, type OciDevice, privilegedDevices } from './host-devices.js';
import { customSeccompProfile, defaultSeccompProfile, type SeccompProfile } from './seccomp.js';
import type { ResolvedUser } from './user.js';

/** An OCI mount (runtime-spec `mounts[]`). */
export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/** The subset of the OCI runtime-spec config that Berth writes. */
export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    noNewPrivileges: boolean;
    rlimits?: { type: string; soft: number; hard: number }[];
    /** The terminal's size as the runtime makes it (with `terminal`). */
    consoleSize?: { height: number; width: number };
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    namespaces: { type: string; path?: string }[];
    devices?: OciDevice[];
    sysctl?: Record<string, string>;
    cgroupsPath: string;
    resources: {
      devices: { allow: boolean; access: string; type?: string; major?: number; minor?: number }[];
      memory?: { limit: number };
      cpu?: { quota?: number; period?: number; shares?: number };
      pids?: { limit: number };
    };
    maskedPaths?: string[];
    readonlyPaths?: string[];
    seccomp?: SeccompProfile;
    /** How the container's root mount propagates (runc's default: rslave). */
    rootfsPropagation?: string;
  };
}

/** A bind mount whose host side is already resolved (a volume's data folder, or a host path). */
export interface ResolvedBind {
  source: string;
  destination: string;
  readOnly: boolean;
  /** Default `rprivate`. */
  propagation?: string;
  nonRecursive?: boolean;
}

/** What {@link ociSpec} needs besides the container's settings. */
export interface OciSpecInput {
  config: ContainerConfig;
  /** The mounted root filesystem (the overlay's merged folder), or the folder `rootMounts` go on. */
  rootfs: string;
  /**
   * Mounts the runtime makes at `/` before any other, in the container's mount namespace (a
   * snapshot's overlay): the root filesystem is then never mounted on the host.
   */
  rootMounts?: readonly Mount[];
  /** The process user, resolved against the image's passwd and group files. */
  user: ResolvedUser;
  /** Binds and volumes with host paths, plus files like /etc/hosts that Berth provides. */
  binds: readonly ResolvedBind[];
  /** runc's `cgroupsPath` (cgroupfs form, `/PARENT/NAME`). */
  cgroupsPath: string;
  /** The host path of catatonit, needed when `config.init` is set. */
  initPath?: string;
  /**
   * The capabilities this host can grant (its bounding set); others are left out, because
   * the runtime fails on them (a host root may lack CAP_SYS_RESOURCE). Default: all.
   */
  hostCapabilities?: readonly string[];
  /** Join this network namespace (a pinned CNI namespace, or another container's). */
  netnsPath?: string;
}

/** Where `--init` puts catatonit inside the container (as Podman does). */
export const initMountPoint = '/run/berth-init';

const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Docker's masked paths: hidden behind /dev/null or an empty read-only tmpfs. */
export const maskedPaths: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Docker's read-only paths. */
export const readonlyPaths: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

/** The process's argument vector by Docker's rules: entrypoint, then command (both already merged with overrides). */
export function processArgs(config: Pick<ContainerConfig, 'entrypoint' | 'cmd'>): string[] {
  const args = [...config.entrypoint, ...config.cmd];
  if (args.length === 0)
    throw invalidArgument('No command specified: the image has no Cmd or Entrypoint; give one');
  return args;
}

/** The process environment: the settings' env plus Docker's defaults (PATH, HOSTNAME, HOME, TERM). */
export function processEnv(config: ContainerConfig, home: string): string[] {
  const env = new Map<string, string>();
  env.set('PATH', defaultPath);
  env.set('HOSTNAME', config.hostname);
  for (const e of config.env) {
    const i = e.indexOf('=');
    if (i > 0) env.set(e.slice(0, i), e.slice(i + 1));
  }
  if (!env.has('HOME')) env.set('HOME', home);
  if (config.tty && !env.has('TERM')) env.set('TERM', 'xterm');
  return [...env].map(([k, v]) => `${k}=${v}`);
}

function baseMounts(privileged: boolean, shmSize: number): OciMount[] {
  const ro = privileged ? [] : ['ro'];
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize}`],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...ro] },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', ...ro],
    },
  ];
}

/** Builds the OCI config for one start of a container. */
export function ociSpec(input: OciSpecInput): OciSpec {
  const { config, user } = input;
  let args = processArgs(config);
  const host = input.hostCapabilities;
  const caps = capabilitySet(config.capAdd, config.capDrop, config.privileged).filter(
    (c) => !host || host.includes(c),
  );
  const mounts: OciMount[] = (input.rootMounts ?? []).map((m) => ({
    destination: '/',
    type: m.type,
    source: m.source,
    options: [...m.options],
  }));
  mounts.push(...baseMounts(config.privileged, config.shmSize || 64 * 1024 * 1024));
  for (const t of config.tmpfs) {
    // Docker's tmpfs mounts (--tmpfs, --mount type=tmpfs) are noexec unless `exec` is asked for.
    const exec = t.options.some((o) => o === 'exec' || o === 'noexec');
    mounts.push({
      destination: t.destination,
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'nodev', ...(exec ? [] : ['noexec']), ...t.options],
    });
  }
  for (const b of input.binds) {
    mounts.push({
      destination: b.destination,
      type: 'bind',
      source: b.source,
      options: [b.nonRecursive ? 'bind' : 'rbind', b.readOnly ? 'ro' : 'rw', b.propagation ?? 'rprivate'],
    });
  }
  if (config.init) {
    if (!input.initPath) throw invalidArgument('--init needs catatonit, which is not installed');
    mounts.push({
      destination: initMountPoint,
      type: 'bind',
      source: input.initPath,
      options: ['bind', 'ro'],
    });
    args = [initMountPoint, '--', ...args];
  }
  const namespaces: { type: string; path?: string }[] = [{ type: 'mount' }];
  for (const [type, mode] of [
    ['pid', config.pid],
    ['uts', config.uts],
    ['ipc', config.ipc],
  ] as const) {
    if (mode === 'host') continue;
    namespaces.push(mode?.startsWith('ns:') ? { type, path: mode.slice(3) } : { type });
  }
  // A new network namespace gets only loopback (runc brings it up); host shares the host's.
  if (input.netnsPath) namespaces.push({ type: 'network', path: input.netnsPath });
  else if (config.network !== 'host') namespaces.push({ type: 'network' });
  const ownNetns = config.network !== 'host' && !config.network.startsWith('container:');
  const sysctl = { ...(ownNetns ? ownNetnsSysctls : {}), ...config.sysctls };
  if (config.cgroupns === 'private') namespaces.push({ type: 'cgroup' });
  const devices = (config.devices ?? []).map(hostDevice);
  // --privileged: every host device too, as Docker gives it (a --device for the same path wins).
  const nodes = config.privileged ? [...privilegedDevices(devices.map((d) => d.path)), ...devices] : devices;
  const resources: OciSpec['linux']['resources'] = {
    devices: [
      { allow: config.privileged, access: 'rwm' },
      ...devices.map((d, i) => ({
        allow: true,
        type: d.type,
        major: d.major,
        minor: d.minor,
        access: config.devices![i]!.CgroupPermissions,
      })),
    ],
  };
  if (config.memory > 0) resources.memory = { limit: config.memory };
  if (config.nanoCpus > 0) resources.cpu = cfsQuota(config.nanoCpus);
  if (config.cpuQuota) resources.cpu = { quota: config.cpuQuota, period: config.cpuPeriod || 100_000 };
  if (config.cpuShares) resources.cpu = { ...resources.cpu, shares: config.cpuShares };
  if (config.pidsLimit > 0) resources.pids = { limit: config.pidsLimit };
  const spec: OciSpec = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: config.tty,
      user: {
        uid: user.uid,
        gid: user.gid,
        ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}),
      },
      args,
      env: processEnv(config, user.home),
      cwd: config.workingDir || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: config.noNewPrivileges,
      ...(config.ulimits?.length
        ? {
            rlimits: config.ulimits.map((u) => ({
              type: `RLIMIT_${u.Name.toUpperCase()}`,
              soft: u.Soft,
              hard: u.Hard,
            })),
          }
        : {}),
    },
    root: { path: input.rootfs, readonly: config.readOnly },
    // runc cannot set a hostname in the host's UTS namespace.
    hostname: config.uts === 'host' ? '' : config.hostname,
    mounts,
    linux: {
      namespaces,
      ...(nodes.length ? { devices: nodes } : {}),
      ...(Object.keys(sysctl).length ? { sysctl } : {}),
      cgroupsPath: input.cgroupsPath,
      resources,
      ...rootPropagation(input.binds),
    },
  };
  if (!config.privileged) {
    spec.linux.maskedPaths = [...maskedPaths];
    spec.linux.readonlyPaths = [...readonlyPaths];
    if (config.seccomp !== 'unconfined')
      spec.linux.seccomp = config.seccomp
        ? customSeccompProfile(config.seccomp, caps)
        : defaultSeccompProfile(caps);
  }
  return spec;
}

/**
 * A shared bind needs a shared root for its mounts to reach the host, and a slave bind a
 * root that is at least a slave (as Docker sets it); otherwise runc's default stands.
 */
function rootPropagation(binds: readonly ResolvedBind[]): { rootfsPropagation?: string } {
  if (binds.some((b) => b.propagation === 'shared' || b.propagation === 'rshared'))
    return { rootfsPropagation: 'shared' };
  if (binds.some((b) => b.propagation === 'slave' || b.propagation === 'rslave'))
    return { rootfsPropagation: 'rslave' };
  return {};
}

/**
 * What Docker sets in a container's own network namespace (moby's WithSysctls): any user
 * may bind ports below 1024 and send ping (ICMP echo sockets) there, so a non-root process
 * can serve on port 80 and ping; the host's settings are untouched. Only the ones this
 * kernel has (ip_unprivileged_port_start came in 4.11): runc refuses an unknown sysctl.
 */
export const ownNetnsSysctls: Readonly<Record<string, string>> = Object.fromEntries(
  [
    ['net.ipv4.ip_unprivileged_port_start', '0'],
    ['net.ipv4.ping_group_range', '0 2147483647'],
  ].filter(([k]) => existsSync(`/proc/sys/${k!.replaceAll('.', '/')}`)),
);

/**
 * `--sysctl` is limited to what a container's own namespaces hold, as runc checks it:
 * IPC (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*), UTS (kernel.hostname,
 * kernel.domainname) and network (net.*, not with the host's network).
 */
export function checkSysctls(sysctls: Record<string, string>, network: string): void {
  for (const k of Object.keys(sysctls)) {
    const ipc = /^(kernel\.(msg\w*|sem|shm\w*)|fs\.mqueue\..+)$/.test(k);
    const uts = k === 'kernel.hostname' || k === 'kernel.domainname';
    if (k.startsWith('net.')) {
      if (network === 'host') throw invalidArgument(`sysctl "${k}" not allowed in host network namespace`);
    } else if (!ipc && !uts) throw invalidArgument(`sysctl "${k}" is not in a separate kernel namespace`);
  }
}

/**
 * Checks an `--ipc`, `--pid` or `--uts` value: '' (or Docker's `private`, and `shareable`
 * for IPC) for a namespace of its own, `host`, or `ns:PATH` naming a pinned namespace file.
 */
export function checkNamespaceMode(flag: 'ipc' | 'pid' | 'uts', mode: string | undefined): void {
  if (!mode || mode === 'host' || mode === 'private' || (flag === 'ipc' && mode === 'shareable')) return;
  if (mode.startsWith('ns:') && mode.length > 3) {
    if (!existsSync(mode.slice(3))) throw invalidArgument(`--${flag}: no namespace at "${mode.slice(3)}"`);
    return;
  }
  throw invalidArgument(`Invalid --${flag} value "${mode}": use private, host or ns:PATH`);
}

/** The CFS quota and period that give `nanoCpus` (Docker's NanoCpus) of CPU time. */
export function cfsQuota(nanoCpus: number): { quota: number; period: number } {
  const period = 100_000;
  return { quota: Math.max(1000, Math.round((nanoCpus / 1e9) * period)), period };
}

/** runc's cgroupfs path for a container: under its cgroup parent, else `BERTH_CGROUP_PARENT`, else `berth`. */
export function cgroupsPathFor(id: string, parent?: string): string {
  parent ||= process.env.BERTH_CGROUP_PARENT || 'berth';
  return `/${parent.replace(/^\/+|\/+$/g, '')}/berth-${id}`;
}
