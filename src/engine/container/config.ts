import type { HealthConfig } from '../image/resolved-image.js';
import type { PortMapping } from '../network/ports.js';
/**
 * What a container is asked to be: the settings `create`/`run` collect from flags and the
 * image, stored with the container record and turned into an OCI config at every start.
 * Plain data (JSON), so it can be stored, inspected and compared.
 */

/** A bind or named-volume mount. */
export interface MountSpec {
  /** `bind`: a host path; `volume`: a named (or anonymous) volume. */
  type: 'bind' | 'volume';
  /** Host path (bind) or volume name (volume). */
  source: string;
  /** Path inside the container. */
  destination: string;
  readOnly: boolean;
  /** True for volumes made for this container only (an image VOLUME); `rm -v` removes them. */
  anonymous?: boolean;
  /** `--mount type=bind`: the host path must exist (Docker refuses rather than creating it). */
  requireSource?: boolean;
  /** `bind-propagation`: Docker's default is `rprivate`. */
  propagation?: string;
  /** `bind-nonrecursive`: mounts below the source are not carried along. */
  nonRecursive?: boolean;
  /** `volume-nocopy`: an empty volume is not filled from the image. */
  noCopy?: boolean;
  /** Given with `--mount` (Docker's HostConfig.Mounts) rather than `-v` (HostConfig.Binds). */
  viaMount?: boolean;
}

/** The rlimits `--ulimit` (Docker's HostConfig.Ulimits) may name, as Docker spells them. */
export const ULIMIT_NAMES: ReadonlySet<string> = new Set(
  'as core cpu data fsize locks memlock msgqueue nice nofile nproc rss rtprio rttime sigpending stack'.split(
    ' ',
  ),
);

/** A `--tmpfs PATH[:OPTIONS]` mount. */
export interface TmpfsSpec {
  destination: string;
  /** Mount options, for example `size=64m`, `mode=1777`. */
  options: string[];
  /** Given with `--mount type=tmpfs` (Docker's HostConfig.Mounts) rather than `--tmpfs`. */
  viaMount?: boolean;
}

/** A `--restart` policy, as Docker spells it. */
export interface RestartPolicy {
  name: 'no' | 'on-failure' | 'always' | 'unless-stopped';
  /** For on-failure: the most restarts; 0 means no limit. */
  maximumRetryCount: number;
}

/** Everything that decides how a container runs. Image values are already merged in. */
export interface ContainerConfig {
  /** The image's ID (`sha256:...`) and the name the user gave. */
  imageId: string;
  imageName: string;
  /**
   * The image as the user wrote it (`bb`, `bb:1`, an ID prefix): Docker's `Config.Image`, which
   * `ps` and scripts show. Absent on containers created before it was kept.
   */
  imageRef?: string;
  /** Set for `--rootfs DIR` containers: the folder is the only (read-only) layer. */
  rootfs?: string;
  /** The process: entrypoint + command after overrides (Docker's rules). */
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  /** `USER[:GROUP]` by name or number; empty means root. */
  user: string;
  tty: boolean;
  openStdin: boolean;
  /**
   * Docker's StdinOnce: stdin closes when the first attached client detaches. Absent counts
   * as true (what `run -i` asks); false keeps stdin open across attaches (conmon's
   * --leave-stdin-open), as a pod's `stdinOnce: false` does.
   */
  stdinOnce?: boolean;
  hostname: string;
  labels: Record<string, string>;
  mounts: MountSpec[];
  tmpfs: TmpfsSpec[];
  readOnly: boolean;
  /**
   * The runtime mounts the root filesystem, in the container's own mount namespace, instead
   * of the engine on the host (private-rootfs.ts): a pod's containers, whose files nothing on
   * the node reads through the host. Absent means the host mount.
   */
  privateRootfs?: boolean;
  /** Memory limit in bytes; 0 means none. */
  memory: number;
  /** CPU limit in billionths of a CPU (Docker's NanoCpus); 0 means none. */
  nanoCpus: number;
  /** Pids limit; 0 means none. */
  pidsLimit: number;
  /** `--cpu-shares`: relative CPU weight (v1 cpu.shares; runc maps it to a v2 weight); 0 means the default. */
  cpuShares?: number;
  /** `--cpu-quota` and `--cpu-period` in microseconds: a CFS quota given directly, beside nanoCpus. */
  cpuQuota?: number;
  cpuPeriod?: number;
  /**
   * `--cgroup-parent`: the cgroup (cgroupfs form, `/a/b`) the container's own cgroup is made
   * under; default `berth` (or BERTH_CGROUP_PARENT). The node agent puts pods under `kubepods`.
   */
  cgroupParent?: string;
  /** Size of /dev/shm in bytes (`--shm-size`); absent means Docker's 64 MB. */
  shmSize?: number;
  /** `--ulimit` values (Docker's HostConfig.Ulimits); the others are inherited. */
  ulimits?: { Name: string; Soft: number; Hard: number }[];
  /** `--sysctl` values, set in the container's own namespaces. */
  sysctls?: Record<string, string>;
  restart: RestartPolicy;
  /** Run catatonit as PID 1 (`--init`). */
  init: boolean;
  /** `--group-add`: supplementary groups, by number or by name in the image's /etc/group. */
  groupAdd?: string[];
  /**
   * `--ipc`, `--pid`, `--uts`: absent or '' for a namespace of its own, `host` for the host's,
   * or `ns:PATH` to join a pinned namespace (a pod's shared IPC and UTS namespaces).
   */
  ipc?: string;
  pid?: string;
  uts?: string;
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  noNewPrivileges: boolean;
  /**
   * `--security-opt seccomp=`: absent for Berth's default profile, `unconfined` for none, or
   * the text of a profile file (read when the container is made, as Docker does).
   */
  seccomp?: string;
  /**
   * `none`: a new network namespace with only loopback; `host`: the host's; `container:ID`:
   * another container's; anything else names a bridge network (`bridge` is the default one).
   */
  network: string;
  /** Published ports (`-p`); host port 0 is picked at start. */
  ports: PortMapping[];
  /** `-P`: publish every port the image exposes on a random host port. */
  publishAll: boolean;
  /** `--expose` (Docker's Config.ExposedPorts, `80/tcp`): published by `-P` beside the image's. */
  expose?: string[];
  /** `--network-alias`: extra names on user networks. */
  networkAliases: string[];
  /** Networks joined with `network connect`, beside `network` (absent in older records). */
  extraNetworks?: { name: string; aliases: string[]; ip?: string }[];
  /** `--ip`, `--mac-address`: fixed address on the network ('' for automatic). */
  ip: string;
  mac: string;
  /** `--dns`: name servers for /etc/resolv.conf (default: the host's, minus loopback ones). */
  dns: string[];
  /** `--add-host NAME:IP` lines for /etc/hosts. */
  addHosts: string[];
  /** The OCI runtime's name or path; empty means detected. */
  runtime: string;
  /** The image's stop signal, or SIGTERM. */
  stopSignal: string;
  /** Seconds `stop` waits before SIGKILL. */
  stopTimeout: number;
  /** `--rm`: remove the container when it exits. */
  autoRemove: boolean;
  /** `--device HOST[:CONTAINER][:PERMISSIONS]`, Docker's HostConfig.Devices. */
  devices?: { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[];
  /** `--cgroupns`: `private` gives the container its own cgroup namespace (default host, as Docker on cgroup v1). */
  cgroupns?: 'host' | 'private';
  /**
   * `--log-driver` and `--log-opt`: `k8s-file` (default) or `json-file`, both written by conmon
   * in the k8s-file format (podman does the same for json-file); the options as given, max-size in bytes.
   * `none`: the file is kept only for attach; `logs` refuses it.
   */
  log?: { driver: 'k8s-file' | 'json-file' | 'none'; options: Record<string, string>; maxSize?: number };
  /** The health check (image's HEALTHCHECK merged with `--health-*`); `Test: ["NONE"]` disables it. */
  healthcheck?: HealthConfig;
}

/** The image as Docker shows it for a container: as the user wrote it, else its full name. */
export function imageAsGiven(c: Pick<ContainerConfig, 'imageRef' | 'imageName'>): string {
  return c.imageRef || c.imageName;
}

/** A config with Docker's defaults for everything not given; `create` fills in the rest. */
export function defaultContainerConfig(overrides: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    imageId: '',
    imageName: '',
    entrypoint: [],
    cmd: [],
    env: [],
    workingDir: '',
    user: '',
    tty: false,
    openStdin: false,
    hostname: '',
    labels: {},
    mounts: [],
    tmpfs: [],
    readOnly: false,
    memory: 0,
    nanoCpus: 0,
    pidsLimit: 0,
    restart: { name: 'no', maximumRetryCount: 0 },
    init: false,
    capAdd: [],
    capDrop: [],
    privileged: false,
    noNewPrivileges: false,
    network: 'bridge',
    ports: [],
    publishAll: false,
    networkAliases: [],
    ip: '',
    mac: '',
    dns: [],
    addHosts: [],
    runtime: '',
    stopSignal: 'SIGTERM',
    stopTimeout: 10,
    autoRemove: false,
    ...overrides,
  };
}
