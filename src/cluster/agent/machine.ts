/**
 * What a node reports about its machine (the kubelet's cadvisor-fed `MachineInfo` and node
 * status setters): capacity and allocatable from the CPUs, memory and disk, narrowed by the
 * cgroup limits the agent itself runs under (v1 and v2); node info from the kernel and OS;
 * the InternalIP of the default-route interface; memory, disk and pid pressure.
 */
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { arch, cpus, hostname, networkInterfaces, release, totalmem } from 'node:os';
import {
  type EvictionSignal,
  parseEvictionHard,
  type Threshold,
  thresholdBytes,
} from './eviction/thresholds.js';

const readText = (p: string): string | undefined => {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    // Not every machine has every file (no DMI in a VM, no cgroup controller): report less.
    return undefined;
  }
};

/** Kubernetes' architecture names. */
export function goArch(a = arch()): string {
  return (
    (
      { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' } as Record<
        string,
        string
      >
    )[a] ?? a
  );
}

/** CPUs available: the machine's, narrowed by a CFS quota (cgroup v1 or v2). */
function cpuCount(): number {
  let n = cpus().length || 1;
  const v2 = readText('/sys/fs/cgroup/cpu.max');
  let quota = -1;
  let period = 100_000;
  if (v2) {
    const [q, p] = v2.split(/\s+/);
    if (q && q !== 'max') quota = Number(q);
    if (p) period = Number(p);
  } else {
    quota = Number(readText('/sys/fs/cgroup/cpu/cpu.cfs_quota_us') ?? -1);
    period = Number(readText('/sys/fs/cgroup/cpu/cpu.cfs_period_us') ?? 100_000);
  }
  if (quota > 0 && period > 0) n = Math.min(n, Math.max(1, Math.ceil(quota / period)));
  return n;
}

/** Memory in bytes: the machine's, narrowed by a memory limit (cgroup v1 or v2). */
function memoryBytes(): number {
  const total = totalmem();
  const raw =
    readText('/sys/fs/cgroup/memory.max') ?? readText('/sys/fs/cgroup/memory/memory.limit_in_bytes');
  const limit = raw && raw !== 'max' ? Number(raw) : Number.NaN;
  return Number.isFinite(limit) && limit > 0 && limit < total ? limit : total;
}

/** The size and free space of the file system holding `path`. */
export function disk(path: string): { total: number; available: number } {
  try {
    const s = statfsSync(existsSync(path) ? path : '/');
    return { total: s.blocks * s.bsize, available: s.bavail * s.bsize };
  } catch {
    return { total: 0, available: 0 };
  }
}

const ki = (bytes: number) => `${Math.floor(bytes / 1024)}Ki`;

export interface MachineFacts {
  capacity: Record<string, string>;
  allocatable: Record<string, string>;
  nodeInfo: Record<string, string>;
  /** PID pressure (memory and disk pressure are the eviction manager's). */
  pressure: { pid: boolean };
}

/**
 * The machine as of now; `root` is the folder whose file system holds images and containers.
 * Allocatable keeps the hard eviction thresholds for memory and the pods' file system out
 * (the kubelet's defaults, 100Mi and 10%, unless `evictionHard` says otherwise).
 */
export function machineFacts(opts: {
  root: string;
  runtimeVersion: string;
  kubeletVersion: string;
  evictionHard?: Threshold[];
}): MachineFacts {
  const hard = opts.evictionHard ?? parseEvictionHard();
  const reserve = (signal: EvictionSignal, capacity: number) => {
    const t = hard.find((x) => x.signal === signal);
    return t ? thresholdBytes(t, capacity) : 0;
  };
  const cpu = cpuCount();
  const mem = memoryBytes();
  const d = disk(opts.root);
  const machineID = readText('/etc/machine-id') ?? '';
  const osRelease = readText('/etc/os-release') ?? '';
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? 'Linux';
  const pidMax = Number(readText('/proc/sys/kernel/pid_max') ?? 32768);
  const threads = Number(
    /^(\d+)/.exec(readText('/proc/loadavg')?.split(' ')[3]?.split('/')[1] ?? '')?.[1] ?? 0,
  );
  return {
    capacity: { cpu: String(cpu), memory: ki(mem), pods: '110', 'ephemeral-storage': ki(d.total) },
    allocatable: {
      cpu: String(cpu),
      memory: ki(Math.max(0, mem - reserve('memory.available', mem))),
      pods: '110',
      'ephemeral-storage': String(Math.max(0, d.total - reserve('nodefs.available', d.total))),
    },
    nodeInfo: {
      machineID,
      systemUUID: (readText('/sys/class/dmi/id/product_uuid') ?? machineID).toLowerCase(),
      bootID: readText('/proc/sys/kernel/random/boot_id') ?? '',
      kernelVersion: release(),
      osImage: pretty,
      containerRuntimeVersion: opts.runtimeVersion,
      kubeletVersion: opts.kubeletVersion,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: goArch(),
    },
    pressure: { pid: pidMax > 0 && threads > pidMax * 0.9 },
  };
}

/** The IPv4 address of the interface the default route leaves by, else another non-loopback one. */
/**
 * Whether a network device is one that Berth, a container engine or the pod network adds: a
 * container bridge, the pod network's VXLAN device, the cluster DNS interface (berth-dns0,
 * holding the DNS Service's address). A restarted agent on a machine without a default route
 * would otherwise take their pod-range or Service addresses as the node's own. (By name:
 * /sys/class/net shows the mount namespace's network, not necessarily the agent's.)
 */
export const addedDevice = (name: string): boolean =>
  /^(br-[0-9a-f]{12}|berth\d*|berth\.\d+|berth-dns\d+|cni\d+|docker\d+|flannel\.\d+)$/.test(name);

export function defaultNodeIP(): string {
  const routes = readText('/proc/net/route') ?? '';
  const iface = routes
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[1] === '00000000')?.[0];
  const all = networkInterfaces();
  const v4 = (name: string) => (all[name] ?? []).find((a) => a.family === 'IPv4' && !a.internal)?.address;
  if (iface) {
    const a = v4(iface);
    if (a) return a;
  }
  // Without a default route, another interface, but not one of those below.
  for (const name of Object.keys(all)) {
    const a = v4(name);
    if (a && !addedDevice(name)) return a;
  }
  return '127.0.0.1';
}

/** This machine's host name, as a node name (lower case). */
export const defaultNodeName = () => hostname().toLowerCase();
