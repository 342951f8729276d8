/**
 * `inspect`: a container in the JSON shape of Docker's `GET /containers/{id}/json`, because
 * scripts and the Docker CLI parse it. Only fields Berth knows are filled; the rest keep
 * Docker's zero values.
 */
import type { EngineContext } from './context.js';
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

/** "Less than a second", "5 seconds", "3 minutes", "2 hours", "4 days". */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 1) return 'Less than a second';
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? '' : 's'}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} hour${h === 1 ? '' : 's'}`;
  return `${Math.floor(h / 24)} days`;
}

/** The Docker-shaped object for one container. */
export function inspectContainer(ctx: EngineContext, rec: ContainerRecord): Record<string, unknown> {
  const c = rec.config;
  const paths = containerPaths(ctx, rec.id);
  const args = [...c.entrypoint, ...c.cmd];
  const volumePath = (name: string) => ctx.volumes.find(name)?.Mountpoint ?? '';
  return {
    Id: rec.id,
    Created: rec.createdAt,
    Path: args[0] ?? '',
    Args: args.slice(1),
    State: {
      Status: rec.state,
      Running: rec.state === 'running',
      Paused: false,
      Restarting: rec.state === 'restarting',
      OOMKilled: rec.oomKilled,
      Dead: rec.state === 'dead',
      Pid: rec.state === 'running' ? rec.pid : 0,
      ExitCode: rec.exitCode,
      Error: rec.error,
      StartedAt: rec.startedAt || zeroTime,
      FinishedAt: rec.finishedAt || zeroTime,
    },
    Image: c.imageId,
    ResolvConfPath: paths.resolvFile,
    HostnamePath: paths.hostnameFile,
    HostsPath: paths.hostsFile,
    LogPath: paths.log,
    Name: `/${rec.name}`,
    RestartCount: rec.restartCount,
    Driver: 'overlay',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    HostConfig: {
      Binds: c.mounts
        .filter((m) => !m.anonymous)
        .map((m) => `${m.source}:${m.destination}${m.readOnly ? ':ro' : ''}`),
      NetworkMode: c.network,
      RestartPolicy: { Name: c.restart.name, MaximumRetryCount: c.restart.maximumRetryCount },
      AutoRemove: c.autoRemove,
      CapAdd: c.capAdd.length ? c.capAdd : null,
      CapDrop: c.capDrop.length ? c.capDrop : null,
      Privileged: c.privileged,
      ReadonlyRootfs: c.readOnly,
      SecurityOpt: c.noNewPrivileges ? ['no-new-privileges'] : null,
      Tmpfs: c.tmpfs.length
        ? Object.fromEntries(c.tmpfs.map((t) => [t.destination, t.options.join(',')]))
        : null,
      Memory: c.memory,
      NanoCpus: c.nanoCpus,
      CpuPeriod: c.nanoCpus ? 100_000 : 0,
      CpuQuota: c.nanoCpus ? Math.round((c.nanoCpus / 1e9) * 100_000) : 0,
      PidsLimit: c.pidsLimit || null,
      Init: c.init,
      Runtime: rec.runtime,
      LogConfig: { Type: 'k8s-file', Config: {} },
    },
    GraphDriver: {
      Name: 'overlay',
      Data: { UpperDir: paths.upper, WorkDir: paths.work, MergedDir: paths.merged },
    },
    Mounts: c.mounts.map((m) =>
      m.type === 'bind'
        ? {
            Type: 'bind',
            Source: m.source,
            Destination: m.destination,
            Mode: m.readOnly ? 'ro' : '',
            RW: !m.readOnly,
            Propagation: 'rprivate',
          }
        : {
            Type: 'volume',
            Name: m.source,
            Source: volumePath(m.source),
            Destination: m.destination,
            Driver: 'local',
            Mode: m.readOnly ? 'ro' : '',
            RW: !m.readOnly,
            Propagation: '',
          },
    ),
    Config: {
      Hostname: c.hostname,
      Domainname: '',
      User: c.user,
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Tty: c.tty,
      OpenStdin: c.openStdin,
      StdinOnce: false,
      Env: c.env,
      Cmd: c.cmd.length ? c.cmd : null,
      Image: c.imageName,
      Volumes: null,
      WorkingDir: c.workingDir,
      Entrypoint: c.entrypoint.length ? c.entrypoint : null,
      Labels: c.labels,
      StopSignal: c.stopSignal,
      StopTimeout: c.stopTimeout,
    },
    NetworkSettings: {
      Bridge: '',
      SandboxID: '',
      HairpinMode: false,
      Ports: {},
      SandboxKey: '',
      Gateway: '',
      IPAddress: '',
      IPPrefixLen: 0,
      MacAddress: '',
      Networks: {
        [c.network]: { NetworkID: c.network, Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: '' },
      },
    },
  };
}
