/**
 * `POST /containers/create`'s body (Config, HostConfig, NetworkingConfig) as the engine's
 * create options. Pure: only the mapping between Docker's field names and Berth's.
 */

import { invalidArgument } from '../../core/errors.js';
import { type MountSpec, type RestartPolicy, type TmpfsSpec, ULIMIT_NAMES } from '../container/config.js';
import type { CreateOptions } from '../container/create.js';
import { normaliseSignal } from '../container/lifecycle.js';
import { logConfig } from '../container/log-config.js';
import { parseTmpfs, parseVolume } from '../container/mount-spec.js';
import type { HealthConfig } from '../image/resolved-image.js';
import type { PortMapping } from '../network/ports.js';
import { normaliseCapability } from '../runtime/capabilities.js';

/** The fields of Docker's create body that Berth reads. */
/** One network's settings in `NetworkingConfig.EndpointsConfig`. */
interface EndpointBody {
  Aliases?: string[] | null;
  IPAMConfig?: { IPv4Address?: string } | null;
  MacAddress?: string;
}

export interface CreateBody {
  Image?: string;
  Hostname?: string;
  User?: string;
  Env?: string[] | null;
  Cmd?: string[] | string | null;
  Entrypoint?: string[] | string | null;
  Labels?: Record<string, string> | null;
  /** Anonymous volumes (`-v /data`): the CLI sends them here, not in `Binds`. */
  Volumes?: Record<string, unknown> | null;
  WorkingDir?: string;
  Tty?: boolean;
  OpenStdin?: boolean;
  StopSignal?: string;
  StopTimeout?: number;
  /** `--expose` and the container ports of `-p`, as `80/tcp` keys. */
  ExposedPorts?: Record<string, unknown> | null;
  /** Before API 1.44, `--mac-address` (later in the endpoint). */
  MacAddress?: string;
  Healthcheck?: HealthConfig | null;
  HostConfig?: {
    Binds?: string[] | null;
    Mounts?: DockerMount[] | null;
    Ulimits?: { Name?: string; Soft?: number; Hard?: number }[] | null;
    Devices?: { PathOnHost?: string; PathInContainer?: string; CgroupPermissions?: string }[] | null;
    LogConfig?: { Type?: string; Config?: Record<string, string> | null } | null;
    ShmSize?: number;
    Sysctls?: Record<string, string> | null;
    CgroupnsMode?: string;
    PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
    PublishAllPorts?: boolean;
    NetworkMode?: string;
    RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
    AutoRemove?: boolean;
    Memory?: number;
    NanoCpus?: number;
    PidsLimit?: number | null;
    CapAdd?: string[] | null;
    CapDrop?: string[] | null;
    Privileged?: boolean;
    SecurityOpt?: string[] | null;
    Tmpfs?: Record<string, string> | null;
    Init?: boolean | null;
    ReadonlyRootfs?: boolean;
    Dns?: string[] | null;
    ExtraHosts?: string[] | null;
    CgroupParent?: string;
    CpuShares?: number;
    CpuQuota?: number;
    CpuPeriod?: number;
    GroupAdd?: string[] | null;
    IpcMode?: string;
    PidMode?: string;
    UTSMode?: string;
  };
  NetworkingConfig?: { EndpointsConfig?: Record<string, EndpointBody | null> | null };
}

/** One entry of `HostConfig.Mounts`. */
export interface DockerMount {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean } | null;
  VolumeOptions?: { NoCopy?: boolean } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

const list = (v: string[] | string | null | undefined): string[] | undefined =>
  v == null ? undefined : Array.isArray(v) ? v : [v];

/** `80/tcp` -> [{ HostIp, HostPort }] as port mappings. */
function ports(bindings: NonNullable<CreateBody['HostConfig']>['PortBindings']): PortMapping[] {
  const out: PortMapping[] = [];
  for (const [key, hosts] of Object.entries(bindings ?? {})) {
    const [p, proto = 'tcp'] = key.split('/');
    const containerPort = Number(p);
    if (
      !Number.isInteger(containerPort) ||
      containerPort < 1 ||
      containerPort > 65535 ||
      !['tcp', 'udp'].includes(proto)
    )
      throw invalidArgument(`Invalid port "${key}": use PORT/tcp or PORT/udp`);
    for (const h of hosts?.length ? hosts : [{}]) {
      const hostPort = h.HostPort ? Number(h.HostPort) : 0;
      if (!Number.isInteger(hostPort) || hostPort < 0 || hostPort > 65535)
        throw invalidArgument(`Invalid host port "${h.HostPort}" for ${key}`);
      out.push({ hostIP: h.HostIp ?? '', hostPort, containerPort, protocol: proto as 'tcp' | 'udp' });
    }
  }
  return out;
}

/** A tmpfs `Mounts` entry as the engine's tmpfs (size in bytes, mode in octal, as `--tmpfs` takes them). */
function tmpfsMount(m: DockerMount & { Target: string }): TmpfsSpec {
  const o = m.TmpfsOptions ?? {};
  const options: string[] = [];
  if (o.SizeBytes !== undefined) {
    if (!Number.isInteger(o.SizeBytes) || o.SizeBytes < 0)
      throw invalidArgument(`Invalid tmpfs size ${o.SizeBytes} for ${m.Target}: use a number of bytes`);
    if (o.SizeBytes) options.push(`size=${o.SizeBytes}`);
  }
  if (o.Mode) options.push(`mode=${o.Mode.toString(8)}`);
  if (m.ReadOnly) options.push('ro');
  return { destination: m.Target, options, viaMount: true };
}

/** `HostConfig.Binds` and `HostConfig.Mounts` (bind, volume and tmpfs) as the engine's mounts. */
function mounts(body: CreateBody): { mounts: MountSpec[]; tmpfs: TmpfsSpec[] } {
  const out: MountSpec[] = (body.HostConfig?.Binds ?? []).map(parseVolume);
  const tmpfs: TmpfsSpec[] = [];
  for (const m of body.HostConfig?.Mounts ?? []) {
    const target = m.Target;
    if (!target?.startsWith('/'))
      throw invalidArgument(`Invalid mount target "${m.Target}": it must be absolute`);
    if (m.Type === 'tmpfs') {
      if (m.Source)
        throw invalidArgument(`invalid mount config for type "tmpfs": source must not be specified`);
      tmpfs.push(tmpfsMount({ ...m, Target: target }));
    } else if (m.Type === 'bind') {
      if (!m.Source?.startsWith('/'))
        throw invalidArgument(
          `invalid mount config for type "bind": invalid mount path: '${m.Source ?? ''}' mount path must be absolute`,
        );
      const b = m.BindOptions ?? {};
      out.push({
        type: 'bind',
        source: m.Source,
        destination: target,
        readOnly: !!m.ReadOnly,
        // Docker's daemon refuses a missing bind source for Mounts (Binds creates it).
        requireSource: true,
        ...(b.Propagation ? { propagation: b.Propagation } : {}),
        ...(b.NonRecursive ? { nonRecursive: true } : {}),
        viaMount: true,
      });
    } else if (m.Type === 'volume' || m.Type === undefined) {
      out.push({
        type: 'volume',
        source: m.Source ?? '',
        destination: target,
        readOnly: !!m.ReadOnly,
        ...(m.Source ? {} : { anonymous: true }),
        ...(m.VolumeOptions?.NoCopy ? { noCopy: true } : {}),
        viaMount: true,
      });
    } else throw invalidArgument(`Unsupported mount type "${m.Type}": use bind, volume or tmpfs`);
  }
  // `Volumes` paths that nothing else mounts get a new anonymous volume each, as dockerd does.
  const taken = new Set([...out.map((m) => m.destination), ...tmpfs.map((t) => t.destination)]);
  for (const dest of Object.keys(body.Volumes ?? {})) if (!taken.has(dest)) out.push(parseVolume(dest));
  return { mounts: out, tmpfs };
}

/** `HostConfig.Ulimits`, checked as Docker's CLI checks `--ulimit`. */
function ulimits(hc: NonNullable<CreateBody['HostConfig']>): CreateOptions['ulimits'] {
  return (hc.Ulimits ?? []).map((u) => {
    const name = u.Name ?? '';
    if (!ULIMIT_NAMES.has(name)) throw invalidArgument(`invalid ulimit type: ${name}`);
    const [soft, hard] = [u.Soft ?? 0, u.Hard ?? 0];
    if (!Number.isInteger(soft) || !Number.isInteger(hard) || soft < 0 || hard < 0)
      throw invalidArgument(
        `Invalid ulimit ${name}=${soft}:${hard}: give whole numbers (unlimited is not supported)`,
      );
    if (soft > hard)
      throw invalidArgument(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
    return { Name: name, Soft: soft, Hard: hard };
  });
}

/** `HostConfig.Devices`: absolute paths, permissions made of r, w and m. */
function devices(hc: NonNullable<CreateBody['HostConfig']>): CreateOptions['devices'] {
  return (hc.Devices ?? []).map((d) => {
    const host = d.PathOnHost ?? '';
    const inside = d.PathInContainer || host;
    const perms = d.CgroupPermissions || 'rwm';
    if (!host.startsWith('/'))
      throw invalidArgument(`Invalid device "${host}": ${host} is not an absolute path`);
    if (!inside.startsWith('/'))
      throw invalidArgument(`Invalid device "${host}": ${inside} is not an absolute path`);
    if (!/^[rwm]{1,3}$/.test(perms))
      throw invalidArgument(`Invalid device "${host}": bad mode specified: ${perms}`);
    return { PathOnHost: host, PathInContainer: inside, CgroupPermissions: perms };
  });
}

/**
 * `HostConfig.LogConfig`; none given means Docker's default, json-file (stored as k8s-file
 * is, see log-config.ts), which docker-py checks before it reads a run's output.
 */
function log(hc: NonNullable<CreateBody['HostConfig']>): CreateOptions['log'] {
  const c = hc.LogConfig ?? {};
  return logConfig(
    c.Type || 'json-file',
    Object.entries(c.Config ?? {}).map(([k, v]) => `${k}=${v}`),
  );
}

/** Docker's SecurityOpt entries; the CLI sends a seccomp profile's text, not its file name. */
function securityOpts(opts: readonly string[]): Pick<CreateOptions, 'noNewPrivileges' | 'seccomp'> {
  const out: Pick<CreateOptions, 'noNewPrivileges' | 'seccomp'> = {};
  for (const spec of opts) {
    const m = /^([a-z-]+)(?:[=:]([\s\S]*))?$/.exec(spec);
    const [key, value] = [m?.[1], m?.[2]];
    if (key === 'no-new-privileges') out.noNewPrivileges = value === undefined || value === 'true';
    else if (key === 'seccomp' && value) out.seccomp = value;
    else
      throw invalidArgument(
        `Unsupported security option "${spec.slice(0, 80)}": Berth supports no-new-privileges and seccomp`,
      );
  }
  return out;
}

/** `CapAdd` or `CapDrop`, each name checked here to be refused in dockerd's words. */
function capabilities(field: 'CapAdd' | 'CapDrop', names: string[] | null | undefined): string[] {
  for (const name of names ?? []) {
    try {
      normaliseCapability(name);
    } catch {
      const upper = name.toUpperCase();
      throw invalidArgument(
        `invalid ${field}: unknown capability: "${upper.startsWith('CAP_') ? upper : `CAP_${upper}`}"`,
      );
    }
  }
  return names ?? [];
}

/** Docker's `RestartPolicy` as the engine's (undefined when it names none). */
export function restartPolicy(
  p: NonNullable<CreateBody['HostConfig']>['RestartPolicy'],
): RestartPolicy | undefined {
  if (!p?.Name) return undefined;
  // dockerd's words (ValidateRestartPolicy), which compose files' typos are matched against.
  if (!['no', 'always', 'unless-stopped', 'on-failure'].includes(p.Name))
    throw invalidArgument(
      `invalid restart policy: unknown policy '${p.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`,
    );
  if ((p.MaximumRetryCount ?? 0) < 0)
    throw invalidArgument('invalid restart policy: maximum retry count cannot be negative');
  if (p.MaximumRetryCount && p.Name !== 'on-failure')
    throw invalidArgument("invalid restart policy: maximum retry count can only be used with 'on-failure'");
  return { name: p.Name as RestartPolicy['name'], maximumRetryCount: p.MaximumRetryCount ?? 0 };
}

/** The engine's create options for a Docker create body and `?name=`. */
export function createOptionsFromBody(body: CreateBody, name?: string): CreateOptions {
  const hc = body.HostConfig ?? {};
  const { mounts: ms, tmpfs } = mounts(body);
  const entry = list(body.Entrypoint);
  const o: CreateOptions = {
    mounts: ms,
    tmpfs: [
      ...Object.entries(hc.Tmpfs ?? {}).map(([p, opt]) => parseTmpfs(opt ? `${p}:${opt}` : p)),
      ...tmpfs,
    ],
    ports: ports(hc.PortBindings),
    env: body.Env ?? [],
    labels: body.Labels ?? {},
    tty: !!body.Tty,
    openStdin: !!body.OpenStdin,
    capAdd: capabilities('CapAdd', hc.CapAdd),
    capDrop: capabilities('CapDrop', hc.CapDrop),
    privileged: !!hc.Privileged,
    init: !!hc.Init,
    readOnly: !!hc.ReadonlyRootfs,
    autoRemove: !!hc.AutoRemove,
    publishAll: !!hc.PublishAllPorts,
    ...(body.ExposedPorts ? { expose: Object.keys(body.ExposedPorts) } : {}),
    memory: hc.Memory ?? 0,
    nanoCpus: hc.NanoCpus ?? 0,
    pidsLimit: hc.PidsLimit && hc.PidsLimit > 0 ? hc.PidsLimit : 0,
    dns: hc.Dns ?? [],
    addHosts: hc.ExtraHosts ?? [],
    ...securityOpts(hc.SecurityOpt ?? []),
    ulimits: ulimits(hc),
    devices: devices(hc),
    log: log(hc),
    ...(hc.ShmSize && hc.ShmSize > 0 ? { shmSize: hc.ShmSize } : {}),
    ...(hc.Sysctls && Object.keys(hc.Sysctls).length ? { sysctls: hc.Sysctls } : {}),
    ...(hc.CgroupnsMode === 'host' || hc.CgroupnsMode === 'private' ? { cgroupns: hc.CgroupnsMode } : {}),
    ...(body.Healthcheck ? { healthcheck: body.Healthcheck } : {}),
    ...(hc.CgroupParent ? { cgroupParent: hc.CgroupParent } : {}),
    ...(hc.CpuShares ? { cpuShares: hc.CpuShares } : {}),
    ...(hc.CpuQuota && hc.CpuQuota > 0 ? { cpuQuota: hc.CpuQuota, cpuPeriod: hc.CpuPeriod || 100_000 } : {}),
    ...(hc.GroupAdd?.length ? { groupAdd: hc.GroupAdd } : {}),
    ...(hc.IpcMode ? { ipc: hc.IpcMode } : {}),
    ...(hc.PidMode ? { pid: hc.PidMode } : {}),
    ...(hc.UTSMode ? { uts: hc.UTSMode } : {}),
  };
  if (name) o.name = name;
  if (body.Hostname) o.hostname = body.Hostname;
  if (body.User) o.user = body.User;
  if (body.WorkingDir) o.workingDir = body.WorkingDir;
  if (body.StopTimeout !== undefined && body.StopTimeout !== null) o.stopTimeout = body.StopTimeout;
  if (body.StopSignal) o.stopSignal = normaliseSignal(body.StopSignal);
  const cmd = list(body.Cmd);
  if (cmd) o.command = cmd;
  // `--entrypoint ""` arrives as [""]: it clears the image's entrypoint.
  if (entry) o.entrypoint = entry.filter((s, i) => s || i > 0);
  const network = hc.NetworkMode && hc.NetworkMode !== 'default' ? hc.NetworkMode : undefined;
  if (network) o.network = network;
  const r = restartPolicy(hc.RestartPolicy);
  if (r) o.restart = r;
  const endpoints = Object.entries(body.NetworkingConfig?.EndpointsConfig ?? {});
  // The endpoint of the container's own network (`--ip`, `--mac-address`, `--network-alias`);
  // from API 1.44 the CLI sends every `--network` here, the others join as by `network connect`.
  const own = network ?? 'bridge';
  const [, main] = endpoints.find(([name]) => name === own) ?? endpoints[0] ?? [];
  const aliases = main?.Aliases ?? [];
  if (aliases.length) o.networkAliases = aliases;
  if (main?.IPAMConfig?.IPv4Address) o.ip = main.IPAMConfig.IPv4Address;
  const mac = main?.MacAddress || body.MacAddress;
  if (mac) o.mac = mac;
  const extra = endpoints.filter(([, e]) => e !== main);
  if (extra.length)
    o.extraNetworks = extra.map(([name, e]) => ({
      name,
      aliases: e?.Aliases ?? [],
      ...(e?.IPAMConfig?.IPv4Address ? { ip: e.IPAMConfig.IPv4Address } : {}),
    }));
  return o;
}
