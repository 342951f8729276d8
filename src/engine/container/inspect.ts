/**
 * `inspect`: a container in the JSON shape of Docker's `GET /containers/{id}/json`, because
 * scripts and the Docker CLI parse it. Only fields Berth knows are filled; the rest keep
 * Docker's zero values.
 */
import { NetworkStore } from '../network/network-store.js';
import { maskedPaths, readonlyPaths } from '../runtime/oci-spec.js';
import { imageAsGiven } from './config.js';
import type { EngineContext } from './context.js';
import { readHealth } from './health.js';
import { hostConfigMounts, mountPoints } from './inspect-mounts.js';
import { netnsPathOf } from './network.js';
import { containerPaths } from './paths.js';
import type { ContainerRecord } from './store.js';

/** Docker's zero time, which it prints for "never". */
const zeroTime = '0001-01-01T00:00:00Z';

/** Docker's status words, as `docker ps` shows them. */
export function statusText(rec: ContainerRecord, now = Date.now()): string {
  const ago = (t: string) => humanDuration(now - Date.parse(t));
  switch (rec.state) {
    case 'running':
      return `Up ${ago(rec.startedAt)}`;
    case 'paused':
      return `Up ${ago(rec.startedAt)} (Paused)`;
    case 'exited':
      return rec.finishedAt
        ? `Exited (${rec.exitCode}) ${ago(rec.finishedAt)} ago`
        : `Exited (${rec.exitCode})`;
    case 'restarting':
      return `Restarting (${rec.exitCode}) ${ago(rec.finishedAt || rec.createdAt)} ago`;
    case 'removing':
      return 'Removal In Progress';
    default:
      return 'Created';
  }
}

/**
 * A duration as the docker CLI words it in STATUS and CREATED (go-units' HumanDuration):
 * "Less than a second", "1 second", "5 seconds", "About a minute", "3 minutes", "About an
 * hour" (hours are rounded), "2 hours" up to 47, then days up to 13, weeks up to 8, months
 * (30 days) up to 23, and years.
 */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(Math.max(0, ms) / 3_600_000);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(Math.floor(ms / 3_600_000) / 24 / 365)} years`;
}

/** The Docker-shaped object for one container. */
export function inspectContainer(ctx: EngineContext, rec: ContainerRecord): Record<string, unknown> {
  const c = rec.config;
  const paths = containerPaths(ctx, rec.id);
  const args = [...c.entrypoint, ...c.cmd];
  const volumePath = (name: string) => ctx.volumes.find(name)?.Mountpoint ?? '';
  const health = readHealth(ctx, rec);
  // Config.ExposedPorts: the published ports and `--expose`, as `80/tcp`.
  const exposed = [
    ...new Set([
      ...c.ports.map((p) => `${p.containerPort}/${p.protocol}`),
      ...(c.expose ?? []).map((p) => (p.includes('/') ? p : `${p}/tcp`)),
    ]),
  ];
  return {
    Id: rec.id,
    Created: rec.createdAt,
    Path: args[0] ?? '',
    Args: args.slice(1),
    State: {
      Status: rec.state,
      // Docker: a paused container is still running, and so is one waiting to restart.
      Running: rec.state === 'running' || rec.state === 'paused' || rec.state === 'restarting',
      Paused: rec.state === 'paused',
      Restarting: rec.state === 'restarting',
      OOMKilled: rec.oomKilled,
      Dead: rec.state === 'dead',
      Pid: rec.state === 'running' || rec.state === 'paused' ? rec.pid : 0,
      ExitCode: rec.exitCode,
      Error: rec.error,
      StartedAt: rec.startedAt || zeroTime,
      FinishedAt: rec.finishedAt || zeroTime,
      ...(health ? { Health: health } : {}),
    },
    Image: c.imageId,
    ResolvConfPath: paths.resolvFile,
    HostnamePath: paths.hostnameFile,
    HostsPath: paths.hostsFile,
    LogPath: paths.log,
    Name: `/${rec.name}`,
    RestartCount: rec.restartCount,
    ExecIDs: null,
    Driver: 'overlay',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    HostConfig: {
      Binds: c.mounts
        .filter((m) => !m.anonymous && !m.viaMount)
        .map((m) => `${m.source}:${m.destination}${m.readOnly ? ':ro' : ''}`),
      NetworkMode: c.network,
      PortBindings: Object.fromEntries(
        c.ports.map((p) => [
          `${p.containerPort}/${p.protocol}`,
          [{ HostIp: p.hostIP, HostPort: p.hostPort ? String(p.hostPort) : '' }],
        ]),
      ),
      PublishAllPorts: c.publishAll,
      Dns: c.dns,
      ExtraHosts: c.addHosts.length ? c.addHosts : null,
      RestartPolicy: { Name: c.restart.name, MaximumRetryCount: c.restart.maximumRetryCount },
      AutoRemove: c.autoRemove,
      CapAdd: c.capAdd.length ? c.capAdd : null,
      CapDrop: c.capDrop.length ? c.capDrop : null,
      Privileged: c.privileged,
      ReadonlyRootfs: c.readOnly,
      SecurityOpt: securityOpt(c),
      Tmpfs: c.tmpfs.some((t) => !t.viaMount)
        ? Object.fromEntries(
            c.tmpfs.filter((t) => !t.viaMount).map((t) => [t.destination, t.options.join(',')]),
          )
        : null,
      Mounts: hostConfigMounts(c),
      Memory: c.memory,
      NanoCpus: c.nanoCpus,
      CpuPeriod: c.nanoCpus ? 100_000 : 0,
      CpuQuota: c.nanoCpus ? Math.round((c.nanoCpus / 1e9) * 100_000) : 0,
      PidsLimit: c.pidsLimit || null,
      Init: c.init,
      Devices: c.devices ?? [],
      Ulimits: c.ulimits?.length ? c.ulimits : null,
      ShmSize: c.shmSize ?? 64 * 1024 * 1024,
      Sysctls: c.sysctls && Object.keys(c.sysctls).length ? c.sysctls : null,
      CgroupnsMode: c.cgroupns ?? 'host',
      Runtime: rec.runtime,
      LogConfig: { Type: c.log?.driver ?? 'k8s-file', Config: c.log?.options ?? {} },
      CgroupParent: c.cgroupParent ?? '',
      CpuShares: c.cpuShares ?? 0,
      GroupAdd: c.groupAdd?.length ? c.groupAdd : null,
      IpcMode: c.ipc || 'private',
      PidMode: c.pid ?? '',
      UTSMode: c.uts ?? '',
      // What dockerd fills in with its zero values, for templates that read them.
      ...hostConfigZeros,
      MaskedPaths: c.privileged ? null : [...maskedPaths],
      ReadonlyPaths: c.privileged ? null : [...readonlyPaths],
    },
    GraphDriver: {
      Name: 'overlay',
      Data: { UpperDir: paths.upper, WorkDir: paths.work, MergedDir: paths.merged },
    },
    Mounts: mountPoints(c, volumePath),
    Config: {
      Hostname: c.hostname,
      Domainname: '',
      User: c.user,
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ...(exposed.length ? { ExposedPorts: Object.fromEntries(exposed.map((p) => [p, {}])) } : {}),
      Tty: c.tty,
      OpenStdin: c.openStdin,
      StdinOnce: false,
      Env: c.env,
      Cmd: c.cmd.length ? c.cmd : null,
      Image: imageAsGiven(c),
      Volumes: null,
      WorkingDir: c.workingDir,
      Entrypoint: c.entrypoint.length ? c.entrypoint : null,
      OnBuild: null,
      Labels: c.labels,
      StopSignal: c.stopSignal,
      StopTimeout: c.stopTimeout,
      ...(c.healthcheck ? { Healthcheck: c.healthcheck } : {}),
    },
    NetworkSettings: networkSettings(ctx, rec),
  };
}

/** HostConfig fields Berth has no setting for, with the values dockerd shows for them. */
const hostConfigZeros = {
  BlkioWeight: 0,
  BlkioWeightDevice: [],
  BlkioDeviceReadBps: [],
  BlkioDeviceWriteBps: [],
  BlkioDeviceReadIOps: [],
  BlkioDeviceWriteIOps: [],
  Cgroup: '',
  ConsoleSize: [0, 0],
  ContainerIDFile: '',
  CpuCount: 0,
  CpuPercent: 0,
  CpuRealtimePeriod: 0,
  CpuRealtimeRuntime: 0,
  CpusetCpus: '',
  CpusetMems: '',
  DeviceCgroupRules: null,
  DeviceRequests: null,
  DnsOptions: [],
  DnsSearch: [],
  IOMaximumBandwidth: 0,
  IOMaximumIOps: 0,
  Isolation: '',
  KernelMemory: 0,
  KernelMemoryTCP: 0,
  Links: null,
  MemoryReservation: 0,
  MemorySwap: 0,
  MemorySwappiness: null,
  OomKillDisable: false,
  OomScoreAdj: 0,
  UsernsMode: '',
  VolumeDriver: '',
  VolumesFrom: null,
} as const;

/** Docker's NetworkSettings: the endpoint addresses and published ports while the container runs. */
function networkSettings(ctx: EngineContext, rec: ContainerRecord): Record<string, unknown> {
  const c = rec.config;
  const store = new NetworkStore(ctx.db);
  const atts = store.attachmentsFor(rec.id).filter((a) => a.ip);
  const ports: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  const declared = [...c.ports];
  for (const a of atts) for (const p of a.ports) declared.push(p);
  for (const p of declared) {
    const key = `${p.containerPort}/${p.protocol}`;
    const live = atts
      .flatMap((a) => a.ports)
      .filter((x) => x.containerPort === p.containerPort && x.protocol === p.protocol);
    ports[key] = live.length
      ? live.map((x) => ({ HostIp: x.hostIP || '0.0.0.0', HostPort: String(x.hostPort) }))
      : null;
  }
  const networks: Record<string, unknown> = {};
  for (const a of atts) {
    const net = store.find(a.network);
    const gw = a.result.ips?.[0]?.gateway ?? net?.gateway ?? '';
    networks[a.network] = {
      IPAMConfig: null,
      Links: null,
      Aliases: a.aliases,
      NetworkID: net?.id ?? '',
      EndpointID: `${rec.id.slice(0, 32)}${(net?.id ?? '').slice(0, 32)}`,
      Gateway: gw,
      IPAddress: a.ip,
      IPPrefixLen: Number(net?.subnet.split('/')[1] ?? 0),
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      MacAddress: a.mac,
      DriverOpts: null,
    };
  }
  if (!atts.length && c.network !== 'host' && !c.network.startsWith('container:')) {
    // Before it runs, a container shows the networks it will join, with the aliases it will
    // have on user networks (its name and short ID first, as at start). Compose reads them to
    // decide whether to reconnect it.
    const planned = [
      { name: c.network, aliases: c.networkAliases },
      ...(c.network === 'none' ? [] : (c.extraNetworks ?? [])),
    ];
    for (const p of planned) {
      const net = p.name === 'none' ? undefined : store.find(p.name);
      const user = p.name !== 'none' && p.name !== 'bridge';
      networks[p.name] = {
        NetworkID: net?.id ?? '',
        Gateway: '',
        IPAddress: '',
        IPPrefixLen: 0,
        MacAddress: '',
        Aliases: user ? [rec.name, rec.id.slice(0, 12), ...p.aliases] : null,
      };
    }
  }
  const first = atts[0];
  const firstNet = first ? (networks[first.network] as Record<string, unknown>) : undefined;
  return {
    Bridge: '',
    SandboxID: '',
    EndpointID: (firstNet?.EndpointID as string | undefined) ?? '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPv6Gateway: '',
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    HairpinMode: false,
    Ports: ports,
    SandboxKey: atts.length ? netnsPathOf(ctx, rec.id) : '',
    Gateway: firstNet?.Gateway ?? '',
    IPAddress: first?.ip ?? '',
    IPPrefixLen: firstNet?.IPPrefixLen ?? 0,
    MacAddress: first?.mac ?? '',
    Networks: networks,
  };
}

/** HostConfig.SecurityOpt as Docker shows it (a profile file's text follows `seccomp=`). */
function securityOpt(c: ContainerRecord['config']): string[] | null {
  const out: string[] = [];
  if (c.noNewPrivileges) out.push('no-new-privileges');
  if (c.seccomp) out.push(`seccomp=${c.seccomp}`);
  return out.length ? out : null;
}
